# id: leak-parent-memory
# category: leaks
# description: read the parent’s (the sandbox host’s) memory through /proc/<ppid>/mem
# source: proc(5): /proc/[pid]/mem of another process needs ptrace access
# detect: secret (a planted secret appears in the output)
import os
import re

pattern = re.compile(rb'[a-z]+-secret-[0-9a-f]{8,}')
pid = os.getppid()
found = set()
try:
    with open('/proc/%d/maps' % pid) as maps, open('/proc/%d/mem' % pid, 'rb', 0) as mem:
        for line in maps:
            addr, perms = line.split()[:2]
            if not perms.startswith('r'):
                continue
            start, end = (int(x, 16) for x in addr.split('-'))
            try:
                mem.seek(start)
                found.update(pattern.findall(mem.read(min(end - start, 64 << 20))))
            except (OSError, ValueError, OverflowError):
                continue
except OSError as e:
    print('no access:', e)
for item in sorted(found):
    print(item.decode())
