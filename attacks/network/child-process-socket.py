# id: net-child-process-socket
# category: network
# description: start a second interpreter with _posixsubprocess (no audit event) and let it open the socket: hooks do not cross exec
# source: PEP 578 hooks live in one process; _posixsubprocess.fork_exec raises no event
# detect: net (a host listener receives something)
import _posixsubprocess
import os

code = 'import socket; s = socket.create_connection(%r, timeout=1); s.sendall(%r)' % (TCP, TOKEN.encode())
errpipe_read, errpipe_write = os.pipe()
head = [[b'/usr/bin/python3', b'-c', code.encode()], [b'/usr/bin/python3'], False, (errpipe_write,), None, None,
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
