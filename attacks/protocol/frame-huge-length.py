# id: proto-frame-huge-length
# category: protocol
# description: announce a 4 GiB frame, then a 4 GiB file, and stream data into them: refused at the header, nothing allocated
# source: unbounded length prefixes (CWE-789; Buffer.concat past Node's buffer limit killed the host)
# detect: verdict+supervisor (the host's decoder must neither die nor change the status)
# truth: ok
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

chunk = b'A' * 65536
for head in (struct.pack('>I', 0xFFFFFFFF), None):
    try:
        if head:
            os.write(4, head)
        else:
            frame({'t': 'file', 'path': 'pwned-huge.bin', 'size': 0xFFFFFFFF})
        for _ in range(128):
            os.write(4, chunk)
    except OSError:
        pass  # refused at the header: the host closed fd 4
