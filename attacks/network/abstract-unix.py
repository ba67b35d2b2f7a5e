# id: net-abstract-unix-socket
# category: network
# description: connect to an abstract unix socket: no file, so no mount namespace hides it
# source: unix(7) abstract namespace (bound to the network namespace, not the filesystem); CVE-2020-15257 (containerd-shim)
# detect: net (a host listener receives something)
import socket

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect('\0' + ABSTRACT)
s.sendall(TOKEN.encode())
