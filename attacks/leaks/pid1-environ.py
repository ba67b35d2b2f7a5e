# id: leak-pid1-environ
# category: leaks
# description: read the environment of pid 1 and of every visible process: a jail whose pid 1 was
#   started with its caller's environment shows it there (the caller's PWD, its secrets)
# source: proc(5) /proc/[pid]/environ; bwrap's pid 1 keeps the environment bwrap was started with
# detect: token (a visible process's environment holds a variable the jail never sets)
# uses: prove, procs

# The jail's own environment (JAIL_ENV in src/backends/native/jail/bwrap-argv.ts: the basics, and
# what matplotlib and the BLAS libraries read), and the PWD bwrap sets after --chdir: anything
# else came from outside.
JAIL_ENV = (b'PATH', b'HOME', b'TMPDIR', b'LANG', b'USER', b'LOGNAME', b'MPLBACKEND', b'MPLCONFIGDIR',
            b'MATPLOTLIBRC', b'OPENBLAS_NUM_THREADS', b'OMP_NUM_THREADS')
checked = 0
for pid, environ in visible_procs('environ'):
    checked += 1
    for entry in environ.split(b'\0'):
        if entry and entry.partition(b'=')[0] not in JAIL_ENV and entry != b'PWD=/workspace':
            breach('pid %s has %r in its environment' % (pid, entry[:200]))
print('checked the environment of', checked, 'processes')
