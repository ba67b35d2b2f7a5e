# id: fs-symlink-next-input
# category: filesystem
# description: plant a symlink where the host writes the next job’s input: the host’s write goes to OUT
# source: symlink tricks on input files (CWE-59, the host writes through a guest-controlled path)
# detect: canary (a new file appears in the host directory)
import os

os.makedirs('/workspace/in', exist_ok=True)
os.symlink(OUT, '/workspace/in/next-job.txt')
os.symlink(OUT, '/workspace/main.py.tmp')
