# id: fs-symlink-write
# category: filesystem
# description: create a symlink in the workspace pointing at OUT and write through it
# source: symlink following (CWE-59)
# detect: token (the token lands in OUT)
import os

os.symlink(OUT, '/workspace/innocent.txt')
with open('/workspace/innocent.txt', 'w') as f:
    f.write(TOKEN)
