# id: spawn-posixsubprocess-fork-exec
# category: language
# description: _posixsubprocess.fork_exec starts a program without raising any audit event (subprocess.Popen raises it in Python code)
# source: CPython Modules/_posixsubprocess.c (no PySys_Audit in 3.11); PEP 578 event table
# detect: token (the started shell writes the token to OUT)
# uses: fork_exec
command = "printf %s '" + TOKEN + "' > '" + OUT + "'"
fork_exec(['/bin/sh', '-c', command])
