# id: strict-os-execv
# category: language
# description: policy strict claims "no new programs": swap the audit hook's code for a no-op, fork, and os.execv /usr/bin/touch; see whether the file appears
# source: PEP 578 hooks are mutable functions (audit-hook-code-swap); execve(2); pybox's strict seccomp filter (src/backends/native/seccomp/strict.ts)
# detect: token (a program that ran is a verified breach, printed with the token)
# uses: prove, disarm_hook
MARKER = '/workspace/strict-started-' + NONCE
print('hook disarmed:', disarm_hook())
pid = os.fork()
if pid == 0:
    try:
        os.execv('/usr/bin/touch', ['touch', MARKER])
    except OSError as exc:
        print('execv refused:', repr(exc), flush=True)
    finally:
        os._exit(127)
os.waitpid(pid, 0)
if os.path.exists(MARKER):
    breach('/usr/bin/touch ran through os.execv once the hook was disarmed')
