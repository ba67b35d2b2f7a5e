# id: proc-chroot-escape
# category: process
# description: the classic chroot escape: chroot into a subdirectory, then climb out with chdir("..")
# source: chroot(2) man page; "How to break out of a chroot() jail" (Simes, 2002)
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
# uses: prove, syscall
import os


prove()
os.makedirs('/workspace/jail', exist_ok=True)
r, err = syscall('chroot', b'/workspace/jail')
if r == 0:
    for _ in range(64):
        os.chdir('..')
    syscall('chroot', b'.')
    breach('chroot succeeded')
r, err = syscall('pivot_root', b'/workspace', b'/workspace/jail')
if r == 0:
    breach('pivot_root succeeded')
