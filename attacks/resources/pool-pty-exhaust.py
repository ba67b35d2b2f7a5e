# id: pool-pty-exhaust
# category: resources
# description: open ptys in every process until none is left: all non-initial devpts instances share the host's 3072 (kernel.pty.max - reserve)
# source: devpts(5) max= and kernel.pty.nr; two runs of 31 processes took every pty of the host
# detect: token+pools (more ptys than a run may hold is a breach; the host's kernel.pty.nr is sampled while the run lasts)
# exclusive: yes
# uses: prove
import os


import time

prove()
PTYS_PER_RUN = 16  # pybox's devpts max= (src/backends/native/jail/bwrap-argv.ts)


def grab():
    masters = []
    while True:
        try:
            masters.append(os.open('/dev/ptmx', os.O_RDWR | os.O_NOCTTY))
        except OSError:
            return masters


kids = []
for _ in range(3):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, b'%d' % len(grab()))
        time.sleep(0.6)
        os._exit(0)
    os.close(w)
    kids.append((pid, r))
total = len(grab())
for pid, r in kids:
    total += int(os.read(r, 16) or b'0')
if total > PTYS_PER_RUN:
    breach('held %d ptys at once (the run may hold %d)' % (total, PTYS_PER_RUN))
for pid, r in kids:
    os.waitpid(pid, 0)
