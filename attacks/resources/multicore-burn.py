# id: res-multicore-burn
# category: resources
# description: spin in several processes at once: the CPU budget is for the whole run
# source: CPU limits that count one process miss its children
# detect: limit (only a limit can end it)
# expect: cpu_limit|timeout
import os

for _ in range(4):
    if os.fork() == 0:
        break
while True:
    pass
