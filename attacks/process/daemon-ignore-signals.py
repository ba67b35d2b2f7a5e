# id: proc-daemon-ignore-signals
# category: process
# description: a daemon that ignores every catchable signal, changes its name and hides in its own process group
# source: daemons that shrug off SIGTERM/SIGHUP; prctl(PR_SET_NAME)
# detect: daemon (a process outlives the run)
# exclusive: yes
import os
import signal
import time

if os.fork() == 0:
    os.setpgid(0, 0)
    for sig in signal.valid_signals():
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError, RuntimeError):
            pass
    try:
        with open('/proc/self/comm', 'w') as f:
            f.write('kworker/0:1')
    except OSError:
        pass
    time.sleep(5)
    os._exit(0)
