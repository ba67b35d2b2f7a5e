# id: fs-proc-self-mem-write
# category: filesystem
# description: open /proc/self/mem for writing (patch the interpreter’s memory without ctypes)
# source: proc(5) /proc/[pid]/mem; a write the language layer must refuse
# detect: token (the token lands in OUT)
# uses: prove
import os


fd = os.open('/proc/self/mem', os.O_RDWR)
prove()
