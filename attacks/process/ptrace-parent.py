# id: proc-ptrace-parent
# category: process
# description: PTRACE_ATTACH to the parent (the sandbox host) and to pid 1
# source: ptrace(2); process injection (MITRE T1055.008)
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
# uses: prove, syscall
import os


prove()
PTRACE_ATTACH = 16
for pid in (os.getppid(), 1):
    r, err = syscall('ptrace', PTRACE_ATTACH, pid, 0, 0)
    if r == 0:
        breach('ptrace attached to pid %d' % pid)
