# id: res-sockbuf-tcp-flood
# category: resources
# description: loopback TCP connections with the largest buffers and a peer that never reads: kernel memory outside the memory limit
# source: socket(7) SO_SNDBUF/SO_RCVBUF; cgroup v1 charges socket buffers only once memory.kmem.tcp is armed
# detect: followup (the host and the next run keep their memory)
# expect: ok|error|memory_limit|killed
import socket
import time

listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)
held = []
sent = 0
try:
    while True:
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 30)
        c.connect(listener.getsockname())
        s, _ = listener.accept()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 30)
        c.setblocking(False)
        held += [c, s]
        before = sent
        try:
            while True:
                sent += c.send(b"\0" * 65536)
        except OSError:
            pass
        if sent == before:
            break  # not a byte more: the socket-buffer limit
except OSError:
    pass  # the fd table
print("held MiB", sent >> 20, "in", len(held) // 2, "connections")
time.sleep(0.3)
