# id: net-raw-socket
# category: network
# description: open raw and packet sockets (forge packets, sniff the host) and send the token
# source: raw(7), packet(7): need CAP_NET_RAW
# detect: net (a host listener receives something)
import os


def prove():
    """The OS was reached from the untrusted code: leave the token where this target forbids writing."""
    try:
        fd = os.open(OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, TOKEN.encode())
        os.close(fd)
    except OSError:
        pass


def breach(detail):
    """Only called once an effect the jail denies was verified."""
    print('BREACH', TOKEN, detail, flush=True)

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
