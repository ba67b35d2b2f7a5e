# id: proto-invalid-utf8
# category: protocol
# description: invalid UTF-8 on stdout, stderr and inside a frame
# source: decoding untrusted bytes (CWE-176)
# detect: verdict+supervisor (the host's decoder must neither die nor change the status)
# truth: ok
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

os.write(1, b'\xff\xfe\xc3\x28 \xed\xa0\x80 \xf4\x90\x80\x80\n')
os.write(2, b'\xc0\xaf\xe0\x80\xaf\n')
frame(b'{"t": "error", "type": "\xff\xfe", "message": "\xc3\x28", "traceback": ""}')
