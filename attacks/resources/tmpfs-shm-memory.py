# id: res-shm-memory
# category: resources
# description: fill /dev/shm: tmpfs pages are memory, not disk
# source: shm_overview(7); tmpfs pages are charged to the memory cgroup
# detect: fill+limit (a shared filesystem is full, or a limit hit)
# expect: memory_limit|error|ok|killed
chunk = b'\1' * (1 << 20)
n = 0
while True:
    try:
        with open('/dev/shm/fill-%d' % n, 'wb') as f:
            f.write(chunk * 8)
    except OSError:
        break
    n += 1
