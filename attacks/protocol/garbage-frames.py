# id: proto-garbage-frames
# category: protocol
# description: random bytes, a truncated frame, then a valid-looking error frame: the decoder must stop, not crash
# source: length-prefixed protocol fuzzing
# detect: verdict+supervisor (the host's decoder must neither die nor change the status)
# truth: ok
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

os.write(4, os.urandom(4096))
os.write(4, struct.pack('>I', 100) + b'{"t":')
frame({'t': 'error', 'type': 'MemoryError', 'message': '', 'traceback': ''})
