# id: proto-terminal-escapes
# category: protocol
# description: terminal escape sequences everywhere the host might print: output, exception type and message, file names
# source: terminal escape injection (CVE-2003-0063 class; OSC 52 clipboard writes)
# detect: tty (raw control characters reach a host field meant to be plain)
import json
import os
import struct


def frame(obj, fd=4):
    data = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    os.write(fd, struct.pack('>I', len(data)) + data)

esc = '\x1b]0;owned\x07\x1b[2J\x1b]52;c;b3duZWQ=\x07\x9b31m'
print(esc)
os.write(2, esc.encode())
frame({'t': 'file', 'path': 'out' + esc + '.txt', 'size': 1})
os.write(4, b'x')
Evil = type(esc + 'Error', (Exception,), {})
raise Evil(esc)
