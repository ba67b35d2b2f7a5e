# id: net-tcp-connect
# category: network
# description: connect to the host’s loopback TCP listener and send the token
# source: the talk’s list: "we probably don’t want [it] to start up a web server"; plain socket(2)
# detect: net (a host listener receives something)
import socket

s = socket.create_connection(TCP, timeout=1)
s.sendall(TOKEN.encode())
s.close()
