# id: fs-device-nodes
# category: filesystem
# description: make and open device nodes: a block device for the host disk, /dev/mem, /dev/kmsg
# source: mknod(2) and device access (container escapes through /dev/sda, /dev/mem)
# detect: token (the token lands in OUT)
# uses: prove
import os


import stat

prove()
for path, major, minor in (('/workspace/sda', 8, 0), ('/workspace/vda', 254, 0), ('/workspace/mem', 1, 1)):
    try:
        os.mknod(path, stat.S_IFBLK | 0o600 if major != 1 else stat.S_IFCHR | 0o600, os.makedev(major, minor))
        fd = os.open(path, os.O_RDONLY)
        if os.read(fd, 512):
            breach('read a device node ' + path)
    except OSError:
        pass
for path in ('/dev/mem', '/dev/kmem', '/dev/port', '/dev/kmsg', '/dev/sda', '/dev/vda', '/dev/console'):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        breach('opened ' + path)
    except OSError:
        pass
