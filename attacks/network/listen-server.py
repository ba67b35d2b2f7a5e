# id: net-listen-server
# category: network
# description: start a web server on every interface (the talk’s example of what not to allow)
# source: PyCon 2014 talk (McKellar): "we probably don’t want [it] to be able to start up a web server"
# detect: net (a host listener receives something)
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('0.0.0.0', 8080))
s.listen(8)
s.settimeout(0.3)
try:
    s.accept()
except OSError:
    pass
