# id: net-child-process-socket
# category: network
# description: start a second interpreter with _posixsubprocess (no audit event) and let it open the socket: hooks do not cross exec
# source: PEP 578 hooks live in one process; _posixsubprocess.fork_exec raises no event
# detect: net (a host listener receives something)
# uses: fork_exec
code = 'import socket; s = socket.create_connection(%r, timeout=1); s.sendall(%r)' % (TCP, TOKEN.encode())
fork_exec(['/usr/bin/python3', '-c', code])
