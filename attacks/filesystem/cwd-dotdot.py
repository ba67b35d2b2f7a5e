# id: fs-cwd-dotdot-write
# category: filesystem
# description: chdir to / through a chain of ../ and write OUT by a relative path
# source: path traversal (CWE-22): relative paths are resolved from the working directory
# detect: token (the token lands in OUT)
import os

os.chdir('/workspace/' + '../' * 16)
relative = OUT.lstrip('/')
fd = os.open(relative, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, TOKEN.encode())
os.close(fd)
