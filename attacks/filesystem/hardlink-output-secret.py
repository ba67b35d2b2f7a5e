# id: fs-hardlink-output-secret
# category: filesystem
# description: hard-link the host secret into the output directory: no symlink for O_NOFOLLOW to refuse
# source: hard-link tricks on output files (CWE-62); protected_hardlinks(5)
# detect: secret (the planted secret comes back as an output file)
import os

os.makedirs('/workspace/out', exist_ok=True)
for name in ('/workspace/out/result.txt', '/workspace/result.txt'):
    try:
        os.link(SECRET_PATH, name)
    except OSError:
        pass
