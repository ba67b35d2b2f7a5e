# id: spawn-posixsubprocess-fork-exec
# category: language
# description: _posixsubprocess.fork_exec starts a program without raising any audit event (subprocess.Popen raises it in Python code)
# source: CPython Modules/_posixsubprocess.c (no PySys_Audit in 3.11); PEP 578 event table
# detect: token (the started shell writes the token to OUT)
import _posixsubprocess
import os

command = "printf %s '" + TOKEN + "' > '" + OUT + "'"
errpipe_read, errpipe_write = os.pipe()
head = [[b'/bin/sh', b'-c', command.encode()], [b'/bin/sh'], False, (errpipe_write,), None, None,
        -1, -1, -1, -1, -1, -1, errpipe_read, errpipe_write, True, False]
for tail in ([-1, None, None, -1, -1, None, False], [None, None, -1, -1, None, False]):
    try:
        pid = _posixsubprocess.fork_exec(*(head + tail))
        break
    except TypeError:
        continue
os.close(errpipe_write)
os.read(errpipe_read, 100)
os.waitpid(pid, 0)
