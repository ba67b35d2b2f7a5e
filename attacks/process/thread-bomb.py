# id: proc-thread-bomb
# category: process
# description: start threads without end, each spinning
# source: thread exhaustion (RLIMIT_NPROC counts threads)
# detect: limit+procs (a crowd of tasks, stopped only by a limit)
# expect: timeout|cpu_limit|memory_limit|killed|ok|error
import threading

def spin():
    while True:
        pass

while True:
    try:
        threading.Thread(target=spin, daemon=True).start()
    except RuntimeError:
        pass
