# id: res-fd-exhaustion
# category: resources
# description: open pipes until the fd table is full, and hold them
# source: the talk’s list: "we don’t want people to use up all the file descriptors"
# detect: fds (the whole fd table was used)
# expect: ok|error
import os
import time

held = []
while True:
    try:
        held.extend(os.pipe())
    except OSError:
        break
time.sleep(0.3)
