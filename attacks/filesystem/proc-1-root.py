# id: fs-proc-1-root-write
# category: filesystem
# description: write OUT through /proc/1/root, the root directory of pid 1 (on a host: the real root)
# source: proc(5) /proc/[pid]/root; container escape folklore (a shared pid namespace exposes the host root)
# detect: token (the token lands in OUT)
import os

for prefix in ('/proc/1/root', '/proc/2/root', '/proc/self/root'):
    try:
        fd = os.open(prefix + OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    except OSError:
        continue
    os.write(fd, TOKEN.encode())
    os.close(fd)
    break
