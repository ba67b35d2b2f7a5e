# id: audit-dirfd-relative-path
# category: language
# description: os.open(name, O_WRONLY, dir_fd=fd): the hook resolves the bare name against the cwd, the kernel against dir_fd
# source: PEP 578 open event carries the path but not dir_fd; openat(2) semantics
# detect: token (the token lands in OUT)
import os

directory, name = os.path.split(OUT)
dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=dfd)
os.write(fd, TOKEN.encode())
os.close(fd)
