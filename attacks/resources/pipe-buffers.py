# id: res-pipe-buffer-memory
# category: resources
# description: fill many pipes to the brim: kernel memory the process never mapped
# source: pipe(7) buffers are kernel memory (charged to the memory cgroup)
# detect: limit+fds (kernel memory or the fd table runs out)
# expect: memory_limit|error|ok|killed
import fcntl
import os
import time

pipes = []
while True:
    try:
        r, w = os.pipe()
    except OSError:
        break
    try:
        fcntl.fcntl(w, 1031, 1 << 20)
    except OSError:
        pass
    os.set_blocking(w, False)
    try:
        while True:
            os.write(w, b'\0' * 65536)
    except OSError:
        pass
    pipes.append((r, w))
time.sleep(0.3)
