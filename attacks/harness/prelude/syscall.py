# Prelude `syscall`: raw syscalls by name through libc, for the kernel attacks.
import os


import ctypes

libc = ctypes.CDLL(None, use_errno=True)
NR = {
    'x86_64': dict(ptrace=101, syslog=103, personality=135, vhangup=153, pivot_root=155, chroot=161,
                   acct=163, settimeofday=164, mount=165, umount2=166, swapon=167, reboot=169,
                   init_module=175, quotactl=179, kexec_load=246, add_key=248, request_key=249,
                   keyctl=250, unshare=272, perf_event_open=298, fanotify_init=300,
                   name_to_handle_at=303, open_by_handle_at=304, setns=308, process_vm_readv=310,
                   kcmp=312, finit_module=313, bpf=321, userfaultfd=323, io_uring_setup=425,
                   open_tree=428, fsopen=430, pidfd_open=434, clone3=435, pidfd_getfd=438, clone=56),
    'aarch64': dict(ptrace=117, syslog=116, personality=92, vhangup=58, pivot_root=41, chroot=51,
                    acct=89, settimeofday=170, mount=40, umount2=39, swapon=224, reboot=142,
                    init_module=105, quotactl=60, kexec_load=104, add_key=217, request_key=218,
                    keyctl=219, unshare=97, perf_event_open=241, fanotify_init=262,
                    name_to_handle_at=264, open_by_handle_at=265, setns=268, process_vm_readv=270,
                    kcmp=272, finit_module=273, bpf=280, userfaultfd=282, io_uring_setup=425,
                    open_tree=428, fsopen=430, pidfd_open=434, clone3=435, pidfd_getfd=438, clone=220),
}[os.uname().machine]


def arg(a):
    if isinstance(a, int):
        return ctypes.c_long(a)
    if isinstance(a, bytes):
        return ctypes.c_char_p(a)
    return a


def syscall(name, *args):
    ctypes.set_errno(0)
    result = libc.syscall(ctypes.c_long(NR[name]), *[arg(a) for a in args])
    return result, ctypes.get_errno()
