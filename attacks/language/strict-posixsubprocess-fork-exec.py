# id: strict-posixsubprocess-fork-exec
# category: language
# description: policy strict claims "no new programs", but _posixsubprocess.fork_exec raises no audit event: start /usr/bin/touch with it and see whether the file appears
# source: CPython 3.11 Modules/_posixsubprocess.c (no PySys_Audit); execve(2); pybox's strict seccomp filter (src/backends/native/seccomp/strict.ts)
# detect: token (a program that ran is a verified breach, printed with the token)
# uses: prove, fork_exec
MARKER = '/workspace/strict-started-' + NONCE
failure = fork_exec(['/usr/bin/touch', MARKER])
print('exec failure reported by the child:', failure)
if os.path.exists(MARKER):
    breach('/usr/bin/touch ran through _posixsubprocess.fork_exec')
