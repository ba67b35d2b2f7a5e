# id: net-host-addresses
# category: network
# description: try the host through every address a container usually reaches it by: loopback v4/v6, 0.0.0.0, docker bridge, QEMU gateway
# source: container networking defaults (docker0 172.17.0.1, slirp 10.0.2.2)
# detect: net (a host listener receives something)
import socket

port = TCP[1]
for host in ('127.0.0.1', '0.0.0.0', '::1', '::ffff:127.0.0.1', '172.17.0.1', '10.0.2.2', '192.168.1.1', 'localhost'):
    try:
        s = socket.create_connection((host, port), timeout=0.2)
        s.sendall(TOKEN.encode())
        s.close()
        break
    except OSError:
        pass
