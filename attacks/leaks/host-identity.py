# id: leak-host-identity
# category: leaks
# description: collect the host’s identity: hostname, uname, machine-id, boot id, host name in the environment
# source: host fingerprinting (MITRE T1082)
# detect: secret (a planted secret appears in the output)
import os
import socket

print('hostname', socket.gethostname(), os.uname())
for path in ('/etc/hostname', '/etc/machine-id', '/proc/sys/kernel/hostname', '/proc/sys/kernel/random/boot_id', '/etc/hosts'):
    try:
        with open(path) as f:
            print(path, f.read(512))
    except OSError:
        pass
for key in ('HOSTNAME', 'HOST', 'NODE_NAME', SECRET_ENV):
    print(key, os.environ.get(key))
