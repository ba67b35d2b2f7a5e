# id: net-udp-sendmsg
# category: network
# description: send the token with sendmsg on a connected UDP socket
# source: sendmsg(2) (audit event socket.sendmsg)
# detect: net (a host listener receives something)
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(UDP)
s.sendmsg([TOKEN.encode()])
