# id: proto-giant-frame-length
# category: protocol
# description: announce a 4 GiB frame and stream data into it
# source: unbounded length prefixes (CWE-789)
# detect: verdict+supervisor (the host's decoder must neither die nor change the status)
# truth: ok
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

os.write(4, struct.pack('>I', 0xFFFFFFFF))
chunk = b'A' * 65536
try:
    for _ in range(256):
        os.write(4, chunk)
except OSError:
    pass
