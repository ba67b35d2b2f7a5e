# id: pool-aio-setup
# category: resources
# description: io_setup(65536) and hold it: aio-nr is one counter for the whole host, and at aio-max-nr every process's io_setup fails with EAGAIN
# source: io_setup(2); /proc/sys/fs/aio-max-nr (65536 by default) bounds all AIO contexts of the host together
# detect: token+pools (a verified AIO context is a breach; the host's aio-nr is sampled while the run lasts)
# exclusive: yes
# uses: prove, syscall
import os


import ctypes
import time

prove()
NR_IO_SETUP = {'x86_64': 206, 'aarch64': 0}[os.uname().machine]
held = []
for nr_events in (65536, 4096, 1):
    ctx = ctypes.c_ulong(0)
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(NR_IO_SETUP), ctypes.c_long(nr_events), ctypes.byref(ctx))
    if r == 0:
        held.append(ctx)
        breach('io_setup(%d) made an AIO context (host aio-nr now %s)' % (nr_events, open('/proc/sys/fs/aio-nr').read().strip()))
time.sleep(0.5 if held else 0)  # hold them while the host samples aio-nr
