# id: fs-write-python-trojan
# category: filesystem
# description: write a sitecustomize.py trojan into the interpreter’s own directories so later runs execute it
# source: persistence through the interpreter’s import path (site module docs)
# detect: token (the token lands in OUT)
# uses: prove
import os


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
