# id: proto-frame-flood
# category: protocol
# description: large valid error frames in a loop, then file frames: the host must hold and decode a bounded amount
# source: amplification against a parser (a file frame's bytes were buffered, joined and decoded whatever their number)
# detect: verdict+supervisor (the host's decoder must neither die nor change the status)
# truth: ok
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

big = b'\0' * (1 << 20)
try:
    for i in range(40):
        frame({'t': 'error', 'type': 'E%d' % i, 'message': 'x' * 60000, 'traceback': ''})
    for i in range(4):
        frame({'t': 'file', 'path': 'pwned-flood-%d.bin' % i, 'size': len(big)})
        os.write(4, big)
except OSError:
    pass  # the host stopped reading: what it took is bounded
