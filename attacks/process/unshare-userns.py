# id: proc-unshare-userns
# category: process
# description: unshare a new user namespace (root inside it: the first step of most kernel LPEs)
# source: user_namespaces(7); CVE-2022-0185, CVE-2023-32233 and friends start here
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
# uses: prove, syscall
import os


prove()
CLONE_NEWUSER = 0x10000000
before = os.readlink('/proc/self/ns/user')
r, err = syscall('unshare', CLONE_NEWUSER)
if r == 0 and os.readlink('/proc/self/ns/user') != before:
    breach('unshare(CLONE_NEWUSER) made a new user namespace')
