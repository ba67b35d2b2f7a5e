# id: leak-other-runs-files
# category: leaks
# description: look for what earlier runs left behind in /tmp, /dev/shm, /workspace and /var/tmp
# source: shared temp directories between tenants (CWE-377)
# detect: secret (another run’s secret appears in the output)
# setup: other-run
import os

for top in ('/tmp', '/dev/shm', '/workspace', '/var/tmp'):
    for root, dirs, files in os.walk(top):
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, 'rb') as f:
                    print(path, f.read(256).decode('utf-8', 'replace'))
            except OSError:
                pass
