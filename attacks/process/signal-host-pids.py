# id: proc-signal-host-pids
# category: process
# description: probe every pid up to 4 million with signal 0 and signal whatever answers outside the sandbox
# source: kill(2) with signal 0 as an existence test; pid namespaces hide host pids
# detect: supervisor (the process that watches the run dies)
# uses: prove
import os


import signal

prove()
mine = {os.getpid(), os.getppid(), 1}
seen = set(int(p) for p in os.listdir('/proc') if p.isdigit())
for pid in list(range(1, 5000)) + list(range(5000, 4194304, 4099)):
    if pid in mine or pid in seen:
        continue
    try:
        os.kill(pid, 0)
    except OSError:
        continue
    breach('pid %d answers but is not in this /proc' % pid)
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        pass
