# id: leak-supervisor-cmdline
# category: leaks
# description: read the command line of the parent, pid 1 and every ancestor: supervisors take --api-key=... flags
# source: proc(5) /proc/[pid]/cmdline; secrets on command lines (CWE-214)
# detect: secret (a planted secret appears in the output)
import os

seen = set()
for pid in [os.getppid(), 1] + [int(p) for p in os.listdir('/proc') if p.isdigit()]:
    if pid in seen or pid == os.getpid():
        continue
    seen.add(pid)
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as f:
            print(pid, f.read(4096).replace(b'\0', b' ').decode('utf-8', 'replace')[:4096])
    except OSError:
        pass
