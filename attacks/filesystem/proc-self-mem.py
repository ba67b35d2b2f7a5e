# id: fs-proc-self-mem-write
# category: filesystem
# description: open /proc/self/mem for writing (patch the interpreter’s memory without ctypes)
# source: proc(5) /proc/[pid]/mem; a write the language layer must refuse
# detect: token (the token lands in OUT)
import os


def prove():
    """The OS was reached from the untrusted code: leave the token where this target forbids writing."""
    try:
        fd = os.open(OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, TOKEN.encode())
        os.close(fd)
    except OSError:
        pass


def breach(detail):
    """Only called once an effect the jail denies was verified."""
    print('BREACH', TOKEN, detail, flush=True)

fd = os.open('/proc/self/mem', os.O_RDWR)
prove()
