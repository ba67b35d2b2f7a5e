# id: proc-seccomp-sweep
# category: process
# description: call every syscall on pybox’s deny list with harmless arguments and report any that the kernel actually ran
# source: pybox src/backends/native/seccomp/policy.ts; seccomp(2)
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
# uses: prove, syscall
import os


prove()
EPERM, ENOSYS = 1, 38
probes = {
    'bpf': (0, 0, 0), 'perf_event_open': (0, 0, -1, -1, 0), 'keyctl': (0, 0), 'add_key': (b'user', b'k', b'v', 1, -2),
    'request_key': (b'user', b'k', None, -2), 'userfaultfd': (0,), 'io_uring_setup': (1, 0), 'kexec_load': (0, 0, 0, 0),
    'init_module': (0, 0, b''), 'finit_module': (-1, b'', 0), 'reboot': (0, 0, 0, 0), 'swapon': (b'/nonexistent', 0),
    'acct': (None,), 'settimeofday': (0, 0), 'syslog': (3, 0, 0), 'quotactl': (0, None, 0, 0), 'vhangup': (),
    'fanotify_init': (0, 0), 'name_to_handle_at': (-100, b'/', 0, 0, 0), 'kcmp': (1, 1, 0, 0, 0),
    'pidfd_getfd': (0, 0, 0), 'open_tree': (-100, b'/', 0), 'fsopen': (b'tmpfs', 0), 'personality': (0x0400000,),
    'umount2': (b'/proc', 0),
}
ran = []
for name, args in probes.items():
    r, err = syscall(name, *args)
    if err not in (EPERM, ENOSYS):
        ran.append('%s->%d/errno %d' % (name, r, err))
if ran:
    breach('reached the kernel: ' + ', '.join(ran))
