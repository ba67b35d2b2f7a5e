# id: res-memory-fork-fanout
# category: resources
# description: fork 8 children that each allocate 60 MiB: a per-process memory limit misses the total
# source: RLIMIT_AS is per process; the cgroup holds the sum
# detect: limit (only a limit can end it)
# expect: memory_limit|error|killed|ok
import os
import time

kids = []
for _ in range(8):
    pid = os.fork()
    if pid == 0:
        try:
            block = bytearray(60 << 20)
            for i in range(0, len(block), 4096):
                block[i] = 1
            time.sleep(1)
        finally:
            os._exit(0)
    kids.append(pid)
for pid in kids:
    os.waitpid(pid, 0)
