# id: proc-cgroup-escape
# category: process
# description: move itself out of its cgroup and raise the cgroup limits through /sys/fs/cgroup
# source: cgroups(7); the release_agent escape (CVE-2022-0492)
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
# uses: prove
import os


prove()
for path in ('/sys/fs/cgroup/cgroup.procs', '/sys/fs/cgroup/memory/cgroup.procs', '/sys/fs/cgroup/pids/pids.max',
             '/sys/fs/cgroup/memory/release_agent', '/sys/fs/cgroup/release_agent'):
    try:
        with open(path, 'w') as f:
            f.write(str(os.getpid()))
        breach('wrote ' + path)
    except OSError:
        pass
