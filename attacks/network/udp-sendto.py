# id: net-udp-sendto
# category: network
# description: send the token in a UDP datagram to the host’s loopback listener
# source: sendto(2): no connection needed, nothing to refuse
# detect: net (a host listener receives something)
import socket

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(TOKEN.encode(), UDP)
