# id: net-unix-path-socket
# category: network
# description: connect to a unix socket in the host directory (think /var/run/docker.sock)
# source: container escapes through a mounted docker.sock
# detect: net (a host listener receives something)
import socket

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(UNIX)
s.sendall(TOKEN.encode())
