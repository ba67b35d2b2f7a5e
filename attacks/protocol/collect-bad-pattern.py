# id: proto-collect-bad-pattern
# category: protocol
# description: file frames for names a collect pattern's character class must judge ([z-a], [!]], [^x], a leading dot) and a path with escapes: a matcher that throws kills the host
# source: an exception from compiling a glob on the guest's input (new RegExp("[z-a]") throws "Range out of order")
# detect: verdict+supervisor (the host's decoder must neither die nor change the status)
# truth: ok
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

for name in ('z', ']', '^x', '.hidden', 'a\\b', '[z-a]', 'pwned-[z-a]', 'x' * 255):
    try:
        frame({'t': 'file', 'path': name, 'size': 1})
        os.write(4, b'x')
    except OSError:
        break
os.write(4, b'\xff' * 64)  # and garbage after them
