# id: proc-daemon-double-fork
# category: process
# description: double-fork and setsid: a daemon that outlives the run and writes the token later
# source: daemon(3) / Stevens double fork
# detect: daemon (a process outlives the run)
# exclusive: yes
import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        for fd in range(0, 64):
            try:
                os.close(fd)
            except OSError:
                pass
        time.sleep(3)
        try:
            fd = os.open(OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.write(fd, TOKEN.encode())
        except OSError:
            pass
        os._exit(0)
    os._exit(0)
