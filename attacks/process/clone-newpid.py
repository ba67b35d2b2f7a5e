# id: proc-clone-namespaces
# category: process
# description: raw clone() with each CLONE_NEW* flag, and clone3 (whose flags a BPF filter cannot read)
# source: clone(2), clone3(2); seccomp cannot inspect clone3’s struct
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
# uses: prove, syscall
import os


import signal

prove()
SIGCHLD = 17
for flag in (0x20000000, 0x40000000, 0x04000000, 0x08000000, 0x02000000, 0x00000080):
    pid, err = syscall('clone', flag | SIGCHLD, 0, 0, 0, 0)
    if pid == 0:
        os._exit(0)
    if pid > 0:
        os.waitpid(pid, 0)
        breach('clone with namespace flag 0x%x made pid %d' % (flag, pid))


class CloneArgs(ctypes.Structure):
    _fields_ = [(n, ctypes.c_uint64) for n in ('flags', 'pidfd', 'child_tid', 'parent_tid', 'exit_signal', 'stack',
                                                 'stack_size', 'tls', 'set_tid', 'set_tid_size', 'cgroup')]


args = CloneArgs(flags=0x20000000, exit_signal=SIGCHLD)
pid, err = syscall('clone3', ctypes.addressof(args), ctypes.sizeof(args))
if pid == 0:
    os._exit(0)
if pid > 0:
    os.waitpid(pid, 0)
    breach('clone3 with CLONE_NEWPID made pid %d' % pid)
