# id: proto-frame-flood
# category: protocol
# description: thousands of small frames and a few large ones: host memory and time must stay bounded
# source: amplification against a parser
# detect: verdict+supervisor (the host's decoder must neither die nor change the status)
# truth: ok
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

import base64

for i in range(5000):
    frame({'t': 'error', 'type': 'E%d' % i, 'message': 'x' * 100, 'traceback': ''})
big = base64.b64encode(b'\0' * (1 << 20)).decode()
for i in range(4):
    try:
        frame({'t': 'file', 'path': 'f%d.bin' % i, 'data': big})
    except OSError:
        break
