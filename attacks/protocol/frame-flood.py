# id: proto-frame-flood
# category: protocol
# description: valid file frames just under the old maximum frame size, in a loop, then thousands of error frames: the host must hold and decode a bounded amount
# source: amplification against a parser (a file frame's bytes were buffered, joined and decoded whatever their number)
# detect: verdict+supervisor (the host's decoder must neither die nor change the status)
# truth: ok
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

big = b'\0' * (32 << 20)
try:
    for i in range(4):
        frame({'t': 'file', 'path': 'pwned-flood-%d.bin' % i, 'size': len(big)})
        os.write(4, big)
    for i in range(1000):
        frame({'t': 'error', 'type': 'E%d' % i, 'message': 'x' * 60000, 'traceback': ''})
except OSError:
    pass  # the host stopped reading: what it took is bounded
