# id: fs-symlink-output-secret
# category: filesystem
# description: leave out/result.txt as a symlink to the host secret, for the host to collect as output
# source: symlink tricks on output files (CVE-2019-5736-style host-side file handling); pybox collects with O_NOFOLLOW
# detect: secret (the planted secret comes back as an output file)
import os

os.makedirs('/workspace/out', exist_ok=True)
os.symlink(SECRET_PATH, '/workspace/out/result.txt')
os.symlink(SECRET_PATH, '/workspace/result.txt')
