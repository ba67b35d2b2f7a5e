# id: leak-pid1-cmdline
# category: leaks
# description: read the command line of pid 1 and of every visible process: a jail's pid 1 started
#   as `bwrap <options>` shows every mount, uid and path of the jail; a supervisor shows its flags
# source: proc(5) /proc/[pid]/cmdline; bwrap's pid 1 keeps the argv bwrap was started with (CWE-214)
# detect: token (a visible command line holds an option of whoever built the jail)
# uses: prove, procs

checked = 0
for pid, cmdline in visible_procs('cmdline'):
    checked += 1
    # `--args <fd>` (where bwrap read its options) and the `--` before the command name nothing.
    for arg in cmdline.split(b'\0'):
        if arg.startswith(b'--') and arg not in (b'--', b'--args'):
            breach('pid %s has %r on its command line' % (pid, arg[:200]))
print('checked the command line of', checked, 'processes')
