# id: proc-cgroup-escape
# category: process
# description: move itself out of its cgroup and raise the cgroup limits through /sys/fs/cgroup
# source: cgroups(7); the release_agent escape (CVE-2022-0492)
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
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

prove()
for path in ('/sys/fs/cgroup/cgroup.procs', '/sys/fs/cgroup/memory/cgroup.procs', '/sys/fs/cgroup/pids/pids.max',
             '/sys/fs/cgroup/memory/release_agent', '/sys/fs/cgroup/release_agent'):
    try:
        with open(path, 'w') as f:
            f.write(str(os.getpid()))
        breach('wrote ' + path)
    except OSError:
        pass
