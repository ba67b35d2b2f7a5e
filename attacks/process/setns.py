# id: proc-setns
# category: process
# description: setns into pid 1’s namespaces
# source: setns(2); nsenter(1)
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
# uses: prove, syscall
import os


prove()
for ns in ('mnt', 'net', 'pid', 'user', 'uts', 'ipc', 'cgroup'):
    try:
        fd = os.open('/proc/1/ns/' + ns, os.O_RDONLY)
    except OSError:
        continue
    r, err = syscall('setns', fd, 0)
    if r == 0:
        breach('setns into pid 1’s %s namespace' % ns)
