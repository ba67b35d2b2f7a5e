# id: res-sockbuf-udp-flood
# category: resources
# description: loopback UDP sockets with the largest receive buffers, filled by datagrams nobody reads: kernel memory outside the memory limit
# source: socket(7) SO_RCVBUF; udp(7) receive queues are charged to no cgroup unless socket accounting is armed
# detect: followup (the host and the next run keep their memory)
# expect: ok|error|memory_limit|killed
import socket
import time

held = []
queued = 0
try:
    while True:
        r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        r.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 30)
        r.bind(("127.0.0.1", 0))
        held.append(r)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        held.append(s)
        before = queued
        for _ in range(200):  # datagrams past a full queue are dropped, not refused
            try:
                s.sendto(b"\0" * 60000, r.getsockname())
            except OSError:
                break
        # what the receive queues hold, as the kernel counts them (rx_queue of /proc/net/udp)
        queued = sum(int(line.split()[4].split(":")[1], 16) for line in open("/proc/net/udp").read().splitlines()[1:])
        if queued == before:
            break  # nothing more was queued: the socket-buffer limit
except OSError:
    pass  # the fd table
print("queued MiB", queued >> 20, "in", len(held) // 2, "sockets")
time.sleep(0.3)
