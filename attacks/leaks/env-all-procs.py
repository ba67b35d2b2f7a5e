# id: leak-env-all-processes
# category: leaks
# description: read the environment and command line of every visible process
# source: proc(5); supervisors pass secrets to their children
# detect: secret (a planted secret appears in the output)
import os

for pid in sorted(p for p in os.listdir('/proc') if p.isdigit()):
    for what in ('environ', 'cmdline'):
        try:
            with open('/proc/%s/%s' % (pid, what), 'rb') as f:
                print(pid, what, f.read(4096).replace(b'\0', b' ').decode('utf-8', 'replace'))
        except OSError:
            pass
