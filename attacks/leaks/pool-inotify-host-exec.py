# id: pool-inotify-host-exec
# category: leaks
# description: inotify watches on /usr/bin, /usr/lib and /dev/null: the binds share their inodes with the host and every other jail, so the watch sees their executions and imports
# source: inotify(7), fanotify(7); a live feed of the host's node, bwrap and dash and of other tenants' imports
# detect: token (a watch on a shared inode is a breach)
# uses: prove, syscall
import os


prove()
CALLS = {'x86_64': dict(inotify_init1=294, inotify_add_watch=254),
      'aarch64': dict(inotify_init1=26, inotify_add_watch=27)}[os.uname().machine]
IN_ACCESS, IN_OPEN = 0x1, 0x20
fd = libc.syscall(ctypes.c_long(CALLS['inotify_init1']), ctypes.c_long(0))
if fd >= 0:
    for path in (b'/usr/bin', b'/usr/lib', b'/dev/null'):
        if libc.syscall(ctypes.c_long(CALLS['inotify_add_watch']), ctypes.c_long(fd), ctypes.c_char_p(path), ctypes.c_long(IN_ACCESS | IN_OPEN)) >= 0:
            breach('inotify watch on the shared %s' % path.decode())
r, err = syscall('fanotify_init', 0, 0)
if r >= 0:
    breach('fanotify_init gave fd %d' % r)
