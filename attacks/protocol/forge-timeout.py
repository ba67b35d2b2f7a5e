# id: proto-forge-timeout
# category: protocol
# description: claim a timeout (TimeoutError frame), then exit normally
# source: trusting guest-reported limit hits
# detect: verdict (the status differs from what really happened)
# truth: ok
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

frame({'t': 'error', 'type': 'TimeoutError', 'message': 'wall clock', 'traceback': ''})
