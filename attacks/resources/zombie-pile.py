# id: res-zombie-pile
# category: resources
# description: fork children that exit at once and are never reaped: a pile of zombies holds pids
# source: zombie processes hold pid-table slots (wait(2))
# detect: procs (a crowd of processes)
# expect: ok|error|timeout|cpu_limit
import os
import time

n = 0
while n < 200:
    try:
        if os.fork() == 0:
            os._exit(0)
        n += 1
    except OSError:
        break
time.sleep(0.5)
