# id: proc-daemon-subreaper
# category: process
# description: become a child subreaper, then fork a grandchild that outlives everyone
# source: prctl(PR_SET_CHILD_SUBREAPER)
# detect: daemon (a process outlives the run)
# exclusive: yes
import ctypes
import os
import time

libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)
if os.fork() == 0:
    if os.fork() == 0:
        time.sleep(5)
        os._exit(0)
    os._exit(0)
