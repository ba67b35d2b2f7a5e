# id: leak-self-memory-scan
# category: leaks
# description: read the process’s own memory through /proc/self/mem and grep it for secrets
# source: proc(5) /proc/[pid]/maps and mem
# detect: secret (a planted secret appears in the output)
import re

pattern = re.compile(rb'[a-z]+-secret-[0-9a-f]{8,}')
found = set()
with open('/proc/self/maps') as maps, open('/proc/self/mem', 'rb', 0) as mem:
    for line in maps:
        addr, perms = line.split()[:2]
        if not perms.startswith('r') or '[vvar]' in line or '[vsyscall]' in line:
            continue
        start, end = (int(x, 16) for x in addr.split('-'))
        if end - start > 64 << 20:
            continue
        try:
            mem.seek(start)
            chunk = mem.read(end - start)
        except (OSError, ValueError, OverflowError):
            continue
        found.update(pattern.findall(chunk))
for item in sorted(found):
    print(item.decode())
