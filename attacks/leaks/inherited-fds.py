# id: leak-inherited-fds
# category: leaks
# description: list inherited file descriptors and read whatever is readable on them (supervisor pipes, host files)
# source: fd leaks across exec (CWE-403)
# detect: secret (a planted secret appears in the output)
import os

for name in sorted(os.listdir('/proc/self/fd'), key=int):
    fd = int(name)
    try:
        target = os.readlink('/proc/self/fd/%d' % fd)
    except OSError:
        continue
    print(fd, target)
    if fd > 2:
        try:
            os.set_blocking(fd, False)
            print(os.read(fd, 4096))
        except OSError:
            pass
