# id: proto-forge-memory-error
# category: protocol
# description: report a MemoryError on the control pipe, then finish normally: a limit that never happened
# source: verdicts decided from guest frames (pybox decides from cgroup counters)
# detect: verdict (the status differs from what really happened)
# truth: ok
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

frame({'t': 'error', 'type': 'MemoryError', 'message': 'out of memory', 'traceback': ''})
frame({'t': 'ready'})
