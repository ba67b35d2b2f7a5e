# id: proto-ready-replay
# category: protocol
# description: replay "ready" frames and an error frame after a successful run, many times over
# source: replay of control messages
# detect: verdict (the status differs from what really happened)
# truth: ok
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

for _ in range(100):
    frame({'t': 'ready'})
    frame({'t': 'error', 'type': 'SystemExit', 'message': '3', 'traceback': ''})
