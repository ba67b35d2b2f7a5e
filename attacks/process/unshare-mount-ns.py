# id: proc-unshare-mount
# category: process
# description: unshare a mount namespace and mount a tmpfs over /usr
# source: mount_namespaces(7), mount(2)
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
# uses: prove, syscall
import os


prove()
for flags in (0x00020000, 0x10000000 | 0x00020000):
    r, err = syscall('unshare', flags)
    if r == 0:
        breach('unshare(0x%x) succeeded' % flags)
r, err = syscall('mount', b'none', b'/usr', b'tmpfs', 0, None)
if r == 0:
    breach('mounted a tmpfs over /usr')
