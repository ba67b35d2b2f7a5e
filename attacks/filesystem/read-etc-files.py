# id: fs-read-host-files
# category: filesystem
# description: read the usual host files: passwd, shadow, ssh keys, the host secret, kubeconfig, cloud credentials
# source: post-exploitation reconnaissance checklist
# detect: secret (the planted secret appears in the output)
import os

paths = ['/etc/passwd', '/etc/shadow', '/etc/hostname', '/root/.ssh/id_rsa', '/root/.ssh/authorized_keys',
         '/home', '/var/run/secrets/kubernetes.io/serviceaccount/token', '/root/.aws/credentials',
         '/etc/ssh/ssh_host_ed25519_key', SECRET_PATH, os.path.dirname(SECRET_PATH)]
for p in paths:
    try:
        if os.path.isdir(p):
            print(p, os.listdir(p))
        else:
            with open(p, 'rb') as f:
                print(p, f.read(2048).decode('utf-8', 'replace'))
    except OSError as e:
        print(p, type(e).__name__)
