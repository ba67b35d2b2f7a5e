# id: res-slot-poison-scm-rights
# category: resources
# description: memfds and filled TCP sockets sent over a unix socketpair to itself, then every fd closed: garbage only the kernel's unix GC frees, charged to the run's cgroup after it ends
# source: unix(7) SCM_RIGHTS in-flight references; the unix GC runs only when a unix socket is released
# detect: followup (the next run through the same sandbox must still get its whole memory limit)
# expect: ok|memory_limit|killed
import array
import os
import socket
import time

MEMFD_MIB = 96  # memfds in flight, in all (fits a 128 MiB run)
CHUNK = 4 << 20

a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)


def send_fds(fds):
    a.sendmsg([b"x"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))])


held = 0
while held < MEMFD_MIB << 20:
    fd = os.memfd_create("poison")
    os.write(fd, b"\1" * CHUNK)
    send_fds([fd])
    os.close(fd)
    held += CHUNK

# Filled loopback TCP connections, in flight too: their buffers and the network namespace stay with them.
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(8)
tcp_bytes = 0
for _ in range(4):
    c = socket.socket()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 30)
    c.connect(listener.getsockname())
    s, _ = listener.accept()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 30)
    c.setblocking(False)
    try:
        while True:
            tcp_bytes += c.send(b"\0" * 65536)
    except OSError:
        pass
    send_fds([c.fileno(), s.fileno()])
    c.close()
    s.close()

send_fds([a.fileno(), b.fileno()])  # the pair itself: a cycle only the GC can break
a.close()
b.close()
print("in flight: memfd MiB", held >> 20, "tcp MiB", tcp_bytes >> 20)
# The listener stays open a moment, so where the network is the host's the lab sees the server.
time.sleep(0.3)
