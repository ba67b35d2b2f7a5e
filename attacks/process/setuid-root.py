# id: proc-setuid-root
# category: process
# description: become root: setuid(0), setresuid, and look at the capability sets
# source: setuid(2), capabilities(7)
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
# uses: prove
import os


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
