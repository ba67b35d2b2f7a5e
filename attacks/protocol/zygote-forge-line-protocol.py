# id: zygote-forge-line-protocol
# category: protocol
# description: write the fork-server's own lines (fork, forked, exited, close) and random bytes into every fd from 0 to 255, dup its pipes over each other, then close them all and leave
# source: a line protocol between a fork-server and its host that a child could reach
# detect: zygote+verdict+supervisor (the zygote lives on and serves correct runs; the verdict stays true; a weak target's host dies on the garbage)
# truth: ok
# exclusive: yes
import os

lines = b'hello 1\nS 1 1048576 1048576 0\nP 1 1 3 4 5 6 7 8\nP 2 2 0 1 2 3 4 5\nX 1 0\nX 2 0\nE 3 forged\nC 1\n'
noise = os.urandom(4096)
for fd in range(256):
    for data in (lines, noise, b'\n' + lines):
        try:
            os.set_blocking(fd, False)
            os.write(fd, data)
        except OSError:
            pass
for fd in range(256):
    for other in range(5):
        try:
            os.dup2(other, fd)
            os.write(fd, lines)
        except OSError:
            pass
os.closerange(0, 256)
os._exit(0)
