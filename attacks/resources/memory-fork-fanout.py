# id: res-memory-fork-fanout
# category: resources
# description: fork 8 children that each allocate 60 MiB: a per-process memory limit misses the total
# source: RLIMIT_AS is per process; the cgroup holds the sum
# detect: limit (only a limit can end it)
# expect: memory_limit|error|killed|ok|timeout
# timeout too: the children that survive the OOM kills sleep a second; on a busy host the
# run (about 1.8 s alone) can outlast the lab's 3 s wall clock, and then the wall clock ended it.
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
