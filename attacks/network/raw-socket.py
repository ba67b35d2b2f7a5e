# id: net-raw-socket
# category: network
# description: open raw and packet sockets (forge packets, sniff the host) and send the token
# source: raw(7), packet(7): need CAP_NET_RAW
# detect: net (a host listener receives something)
# uses: prove
import os


import socket

prove()
for family, kind, proto in ((socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
                            (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW),
                            (socket.AF_PACKET, socket.SOCK_RAW, 0x0300),
                            (socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP)):
    try:
        s = socket.socket(family, kind, proto)
        breach('opened a %s/%s socket' % (family, kind))
        s.close()
    except OSError:
        pass
