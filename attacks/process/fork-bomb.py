# id: proc-fork-bomb
# category: process
# description: fork without end: every child forks again
# source: the classic fork bomb (:(){ :|:& };:)
# detect: limit+procs (a process crowd, stopped only by a limit)
# expect: timeout|cpu_limit|memory_limit|killed|ok|error
import os
import time

end = time.monotonic() + 2.5
while time.monotonic() < end:
    try:
        os.fork()
    except OSError:
        pass
