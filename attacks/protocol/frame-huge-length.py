# id: proto-frame-huge-length
# category: protocol
# description: announce a 4 GiB frame and stream data into it: refused at the header, nothing allocated
# source: unbounded length prefixes (CWE-789; Buffer.concat past Node's buffer limit killed the host)
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
    pass  # refused at the header: the host closed fd 4 after a run's worth
