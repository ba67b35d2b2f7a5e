# id: net-netlink-route
# category: network
# description: talk rtnetlink: list the interfaces, then try to add an address and a default route to reach the host
# source: rtnetlink(7); NETLINK_ROUTE needs CAP_NET_ADMIN to change anything
# detect: net (a host listener receives something)
# uses: prove
import os


import socket
import struct

prove()
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
s.bind((0, 0))
RTM_NEWADDR, NLM_F_REQUEST, NLM_F_ACK, NLM_F_CREATE = 20, 1, 4, 0x400
ifaddr = struct.pack('BBBBI', socket.AF_INET, 8, 0, 0, 1)
rta = struct.pack('HH', 8, 2) + socket.inet_aton('10.99.0.2')
body = ifaddr + rta
msg = struct.pack('IHHII', 16 + len(body), RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE, 1, 0) + body
s.send(msg)
reply = s.recv(4096)
error = struct.unpack('i', reply[16:20])[0]
if error == 0:
    breach('rtnetlink accepted RTM_NEWADDR')
