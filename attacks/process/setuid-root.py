# id: proc-setuid-root
# category: process
# description: become root: setuid(0), setresuid, and look at the capability sets
# source: setuid(2), capabilities(7)
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
import os


def prove():
    """The OS was reached from the untrusted code: leave the token where this target forbids writing."""
    try:
        fd = os.open(OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, TOKEN.encode())
        os.close(fd)
    except OSError:
        pass


def breach(detail):
    """Only called once an effect the jail denies was verified."""
    print('BREACH', TOKEN, detail, flush=True)

prove()
for call in (lambda: os.setuid(0), lambda: os.setresuid(0, 0, 0), lambda: os.setgid(0), lambda: os.setgroups([0])):
    try:
        call()
    except (OSError, AttributeError):
        pass
if os.geteuid() == 0 or os.getegid() == 0:
    breach('now uid %d gid %d' % (os.geteuid(), os.getegid()))
with open('/proc/self/status') as f:
    for line in f:
        if line.startswith(('CapEff', 'CapPrm', 'CapAmb')) and int(line.split()[1], 16):
            breach(line.strip())
