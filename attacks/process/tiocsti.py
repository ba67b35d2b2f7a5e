# id: proc-tiocsti
# category: process
# description: push characters into the controlling terminal with TIOCSTI (types commands into the host shell)
# source: CVE-2017-5226 (bubblewrap), CVE-2019-10063 (flatpak); ioctl_tty(2)
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
# uses: prove
import os


import fcntl
import termios

prove()
TIOCSTI = getattr(termios, 'TIOCSTI', 0x5412)
for fd in (0, 1, 2):
    try:
        fcntl.ioctl(fd, TIOCSTI, b'#')
        breach('TIOCSTI on fd %d' % fd)
    except OSError:
        pass
try:
    tty = os.open('/dev/tty', os.O_RDWR)
    fcntl.ioctl(tty, TIOCSTI, b'#')
    breach('TIOCSTI on /dev/tty')
except OSError:
    pass
try:
    fcntl.ioctl(0, 0x541C, b'\x0b')
    breach('TIOCLINUX accepted')
except OSError:
    pass
