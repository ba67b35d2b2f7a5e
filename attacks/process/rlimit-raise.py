# id: proc-rlimit-raise
# category: process
# description: raise the hard rlimits back up (CPU, processes, files, address space)
# source: setrlimit(2): raising a hard limit needs CAP_SYS_RESOURCE
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
# uses: prove
import os


import resource

prove()
for name in ('RLIMIT_CPU', 'RLIMIT_NPROC', 'RLIMIT_NOFILE', 'RLIMIT_FSIZE', 'RLIMIT_AS', 'RLIMIT_CORE'):
    which = getattr(resource, name)
    soft, hard = resource.getrlimit(which)
    if hard == resource.RLIM_INFINITY:
        continue
    try:
        resource.setrlimit(which, (hard * 4 + 4096, hard * 4 + 4096))
        breach('raised %s above its hard limit %d' % (name, hard))
    except (ValueError, OSError):
        pass
