# id: proto-close-stdout-early
# category: protocol
# description: close stdout, stderr and the control pipe at once, then keep running until the wall clock runs out
# source: supervisors that treat EOF on stdout as "the program ended"
# detect: verdict (the status differs from what really happened)
# truth: timeout
import os
import time

for fd in (1, 2, 4):
    os.close(fd)
time.sleep(60)
