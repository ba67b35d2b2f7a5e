# id: proto-forge-status-ok
# category: protocol
# description: send an "everything is fine" status frame, then fail
# source: trusting a status the guest reports about itself
# detect: verdict (the status differs from what really happened)
# truth: error
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

frame({'t': 'status', 'status': 'ok'})
frame({'t': 'ready'})
raise RuntimeError('the run really failed')
