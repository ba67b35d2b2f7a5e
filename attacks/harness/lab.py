# The attack lab's in-jail harness. It runs INSIDE pybox's jail as the program
# (Sandbox.run with policy 'off'), so nothing here ever touches the real host.
#
# It plays "the host" of a weaker sandbox: a ladder level from the talk, pybox's
# language layer alone, or a naive decoy host. Two processes:
#
#   monitor (this process, trusted): plants a FAKE host -- a decoy secret in a fake
#     host directory at the real host's path, in the environment, on a fake
#     supervisor's command line and in "another run's" files; loopback TCP/UDP/unix
#     listeners -- then starts the target, watches it, and reports what the attack
#     reached as one JSON line on stdout (`@@LAB-REPORT <tag> {...}`).
#   target (a fresh interpreter started by the monitor with the secret in its
#     environment): installs the defence under test (ladder levels L0..LN, pybox's
#     real audit-hook policy, or nothing for the decoy), runs the attack through it,
#     then runs an ordinary follow-up program through the same defence (the talk's
#     sandbox serves many runs from one process).
#
# The config arrives on stdin. The decoy secret never enters the target's memory
# except through the channels an attack is supposed to find (environment, files).
import builtins
import json
import os
import select
import signal
import socket
import struct
import sys
import time
import traceback

FAKE_HOST = '/workspace/.fakehost'
OTHER_RUN_DIRS = ('/tmp/other-run', '/dev/shm')
FOLLOWUP_SOURCE = 'print(6 * 7, True + 1)\n'
REPORT_MAX = 4096
TARGET_ARG = 'pybox-lab-target'


# --- the fake host ---

def plant_fake_host(cfg, secret):
    """The weak sandbox's host: the real host paths, backed by files inside the jail."""
    os.makedirs(FAKE_HOST, 0o755)
    host_dir = cfg['hostDir']
    os.makedirs(os.path.dirname(host_dir), exist_ok=True)
    os.symlink(FAKE_HOST, host_dir)  # same path as on the real host; same filesystem as /workspace
    with open(os.path.join(FAKE_HOST, 'secret.txt'), 'w') as f:
        f.write(secret + '\n')
    with open(os.path.join(FAKE_HOST, 'canary.txt'), 'w') as f:
        f.write(cfg['canary'])
    os.makedirs(OTHER_RUN_DIRS[0], exist_ok=True)
    with open(os.path.join(OTHER_RUN_DIRS[0], 'result.txt'), 'w') as f:
        f.write('another run left this: ' + secret + '\n')
    with open(os.path.join(OTHER_RUN_DIRS[1], 'other-run.txt'), 'w') as f:
        f.write('another run left this: ' + secret + '\n')
    return sorted(os.listdir(FAKE_HOST))


def start_fake_supervisor(secret, env):
    """A host process with a secret on its command line and in its environment, as supervisors have."""
    import subprocess
    try:
        return subprocess.Popen(['/bin/sh', '-c', 'sleep 30; :', 'supervisor', '--api-key=' + secret], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
    except OSError:
        return None


def fake_host_changes(cfg, before):
    changes = {'canaryChanged': False, 'newHostFiles': [], 'out': None}
    try:
        with open(os.path.join(FAKE_HOST, 'canary.txt')) as f:
            changes['canaryChanged'] = f.read() != cfg['canary']
    except OSError:
        changes['canaryChanged'] = True
    try:
        now = sorted(os.listdir(FAKE_HOST))
    except OSError:
        now = []
    changes['newHostFiles'] = [n for n in now if n not in before and n != 'host.sock'][:20]
    try:
        with open(os.path.join(FAKE_HOST, os.path.basename(cfg['out'])), 'rb') as f:
            changes['out'] = f.read(REPORT_MAX).decode('utf-8', 'replace')
    except OSError:
        pass
    return changes


def open_listeners(cfg):
    socks = {}

    def add(kind, family, stype, addr, listen):
        try:
            s = socket.socket(family, stype)
            s.bind(addr)
            if listen:
                s.listen(16)
            s.setblocking(False)
            socks[s] = kind
        except OSError as e:
            sys.stderr.write('lab: cannot listen on %s: %s\n' % (kind, e))

    add('tcp', socket.AF_INET, socket.SOCK_STREAM, tuple(cfg['tcp']), True)
    add('udp', socket.AF_INET, socket.SOCK_DGRAM, tuple(cfg['udp']), False)
    add('unix', socket.AF_UNIX, socket.SOCK_STREAM, cfg['unix'], True)
    add('abstract', socket.AF_UNIX, socket.SOCK_STREAM, '\0' + cfg['abstract'], True)
    return socks


class Pump:
    """One select loop: the listeners, the target's stdout (relayed), the decoy's control pipe."""

    def __init__(self, listeners, relay_fd, frames_fd):
        self.listeners = listeners
        self.conns = {}
        self.hits = {'tcp': 0, 'udp': 0, 'unix': 0, 'abstract': 0}
        self.received = ''
        self.relay_fd = relay_fd
        self.relay_open = True
        self.relay_tail = b''  # the naive host scrapes the output for its own status lines
        self.frames_fd = frames_fd
        self.frames_open = frames_fd is not None
        self.frame_chunks, self.frame_size = [], 0

    def step(self, timeout):
        fds = list(self.listeners) + list(self.conns)
        if self.relay_open:
            fds.append(self.relay_fd)
        if self.frames_open:
            fds.append(self.frames_fd)
        try:
            ready, _, _ = select.select(fds, [], [], timeout)
        except (OSError, ValueError):
            return
        for r in ready:
            if r == self.relay_fd:
                data = self.read(r)
                if not data:
                    self.relay_open = False
                self.relay_tail = (self.relay_tail + data)[-4096:]
                view = memoryview(data)
                while view:
                    view = view[os.write(1, view):]
            elif r == self.frames_fd:
                data = self.read(r)
                if not data:
                    self.frames_open = False
                elif self.frame_size < 1 << 20:
                    self.frame_chunks.append(data)
                    self.frame_size += len(data)
            elif r in self.listeners:
                kind = self.listeners[r]
                try:
                    if kind == 'udp':
                        data, _ = r.recvfrom(4096)
                        self.hits[kind] += 1
                        self.note(data)
                    else:
                        conn, _ = r.accept()
                        conn.setblocking(False)
                        self.hits[kind] += 1
                        self.conns[conn] = kind
                except OSError:
                    pass
            else:
                try:
                    data = r.recv(4096)
                except OSError:
                    data = b''
                if data:
                    self.note(data)
                else:
                    self.conns.pop(r, None)
                    r.close()

    @staticmethod
    def read(fd):
        try:
            return os.read(fd, 65536)
        except OSError:
            return b''

    def note(self, data):
        if len(self.received) < REPORT_MAX:
            self.received += data.decode('utf-8', 'replace')[:REPORT_MAX]


# --- the naive decoy host: believes the guest, follows links, leaks an fd ---

def naive_frames(raw):
    """Parses fd-4 frames the way a careless supervisor would: any surprise is fatal. A
    file frame {t: file, path, size} is followed by its `size` raw bytes, as in pybox."""
    frames, pos = [], 0
    while pos < len(raw):
        (size,) = struct.unpack('>I', raw[pos:pos + 4])
        body = raw[pos + 4:pos + 4 + size]
        if len(body) != size:
            raise ValueError('truncated frame of %d bytes' % size)
        pos += 4 + size
        frame = json.loads(body.decode('utf-8'))
        if isinstance(frame, dict) and frame.get('t') == 'file' and isinstance(frame.get('size'), int):
            frame['raw'] = raw[pos:pos + frame['size']]
            pos += frame['size']
        frames.append(frame)
    return frames


STATUS_WORDS = ('ok', 'error', 'timeout', 'cpu_limit', 'memory_limit', 'output_limit', 'killed')


def naive_verdict(frames, exit_code, stdout_closed_early, output_tail):
    """Status frame > a status line in the output > exit code read as a signal > error frame >
    "stdout closed, so it is done" > ok."""
    errors = [f for f in frames if isinstance(f, dict) and f.get('t') == 'error']
    status = [f for f in frames if isinstance(f, dict) and f.get('t') == 'status']
    if status:
        return str(status[-1].get('status'))[:40]
    for line in reversed(output_tail.decode('utf-8', 'replace').splitlines()):
        words = line.split(':')
        if len(words) > 1 and words[0].strip() == 'pybox' and words[1].strip() in STATUS_WORDS:
            return words[1].strip()
    if exit_code is not None and exit_code > 128:
        return {9: 'memory_limit', 24: 'cpu_limit'}.get(exit_code - 128, 'killed')
    if errors:
        kind = str(errors[0].get('type'))
        return {'MemoryError': 'memory_limit', 'TimeoutError': 'timeout'}.get(kind, 'error')
    if stdout_closed_early:
        return 'ok'
    return 'ok'  # no error report means success


def naive_host_after(pump, exit_code, stdout_closed_early):
    """What a naive host does after a run: decode frames, write the guest's files, collect output, write the next input."""
    import base64
    frames = naive_frames(b''.join(pump.frame_chunks))  # raises on garbage: the naive host dies
    report = {'collected': {}, 'wrote': [], 'errorType': None,
              'verdict': naive_verdict(frames, exit_code, stdout_closed_early, pump.relay_tail)}
    for frame in frames:
        if not isinstance(frame, dict):
            continue
        if frame.get('t') == 'error' and report['errorType'] is None:
            report['errorType'] = str(frame.get('type'))[:200]
        elif frame.get('t') == 'file':
            dest = os.path.join('/workspace/collected', str(frame.get('path')))
            try:
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                with open(dest, 'wb') as f:
                    f.write(frame['raw'] if 'raw' in frame else base64.b64decode(str(frame.get('data', ''))))
                report['wrote'].append(dest[:200])
            except (OSError, ValueError):
                pass
    out_dir = '/workspace/out'  # collected by path: symlinks and hard links followed
    if os.path.isdir(out_dir):
        for name in sorted(os.listdir(out_dir))[:20]:
            try:
                with open(os.path.join(out_dir, name), 'rb') as f:
                    report['collected'][name] = f.read(REPORT_MAX).decode('utf-8', 'replace')
            except OSError:
                pass
    try:  # the next job's input, written by path, through whatever is there now
        os.makedirs('/workspace/in', exist_ok=True)
        with open('/workspace/in/next-job.txt', 'w') as f:
            f.write('input of the next job\n')
    except OSError:
        pass
    return report


# --- samplers ---

def count_fds(pid):
    try:
        return len(os.listdir('/proc/%d/fd' % pid))
    except OSError:
        return 0


def count_procs(skip):
    return sum(1 for name in os.listdir('/proc') if name.isdigit() and int(name) not in skip)


def full_filesystems():
    full = []
    for mount in ('/workspace', '/tmp', '/dev/shm'):
        try:
            st = os.statvfs(mount)
        except OSError:
            continue
        if st.f_blocks and st.f_bavail < st.f_blocks * 0.1:
            full.append(mount)
    return full


def foreign_servers(ours):
    """Listening TCP sockets (and bound UDP ones) in the jail's network that the lab did not open."""
    found = []
    for path, state in (('/proc/net/tcp', '0A'), ('/proc/net/tcp6', '0A'), ('/proc/net/udp', '07'), ('/proc/net/udp6', '07')):
        try:
            with open(path) as f:
                rows = f.read().split('\n')[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) < 4 or cols[3] != state:
                continue
            port = int(cols[1].rsplit(':', 1)[1], 16)
            if port not in ours:
                found.append('%s port %d' % (path.rsplit('/', 1)[1], port))
    return found[:10]


def survivors(skip, skip_group):
    found = []
    for name in os.listdir('/proc'):
        if not name.isdigit() or int(name) in skip:
            continue
        try:
            with open('/proc/%s/stat' % name) as f:
                fields = f.read().rsplit(')', 1)[1].split()
            if fields[0] == 'Z' or int(fields[2]) == skip_group:
                continue  # a zombie, or the fake supervisor we just killed
            with open('/proc/%s/cmdline' % name, 'rb') as f:
                cmd = f.read(200).replace(b'\0', b' ').decode('utf-8', 'replace')
            found.append('%s %s' % (name, cmd[:80]))
        except (OSError, IndexError):
            pass
    return found[:10]


# --- the monitor ---

def monitor():
    cfg = json.loads(sys.stdin.buffer.read().decode('utf-8'))
    secret = cfg.pop('secret')
    decoy = cfg['mode'] == 'decoy'
    before = plant_fake_host(cfg, secret)
    env = dict(os.environ)
    env[cfg['envName']] = secret
    helper = start_fake_supervisor(secret, env)

    os.open('/dev/null', os.O_RDONLY)  # holds fd 3 (the bootstrap closed it): every pipe below is >= 5
    cfg_r, cfg_w = os.pipe()
    out_r, out_w = os.pipe()  # the target's stdout: a pipe (pybox's fd 1 is a socket, /dev/stdout must open)
    frames_r, frames_w = os.pipe() if decoy else (None, None)
    leaked = None
    if decoy:  # the naive host forgot O_CLOEXEC on a file it had open
        leaked = os.open(os.path.join(FAKE_HOST, 'secret.txt'), os.O_RDONLY)
        os.set_inheritable(leaked, True)
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(cfg_r, 3)
            os.dup2(out_w, 1)
            if decoy:
                os.dup2(frames_w, 4)  # the decoy's naive control pipe replaces pybox's fd 4
            os.execve(sys.executable, [sys.executable, '-I', '-S', '-B', '-c', cfg['harness'], TARGET_ARG], env)
        finally:
            os._exit(70)
    del secret, env
    for fd in (cfg_r, out_w, frames_w, leaked):
        if fd is not None:
            os.close(fd)
    pump = Pump(open_listeners(cfg), out_r, frames_r)
    payload = json.dumps(cfg).encode()
    view = memoryview(payload)
    try:
        while view:
            view = view[os.write(cfg_w, view):]
    except OSError:
        pass
    os.close(cfg_w)

    skip = set([1, os.getpid()] + ([helper.pid] if helper else []))
    ours = set([cfg['tcp'][1], cfg['udp'][1]])
    max_fds = max_procs = ticks = 0
    full, servers = [], []
    exit_code = None
    stdout_closed_early = False
    while exit_code is None:
        pump.step(0.02)
        ticks += 1
        max_fds = max(max_fds, count_fds(pid))
        max_procs = max(max_procs, count_procs(skip))
        if not full:
            full = full_filesystems()
        if not servers and ticks % 3 == 1:
            servers = foreign_servers(ours)
        done, status = os.waitpid(pid, os.WNOHANG)
        if not done and decoy and not pump.relay_open:
            # EOF on stdout: the naive host takes it as the end of the run (once the
            # target has had a moment to exit for real, so a crash is not misread)
            for _ in range(20):
                time.sleep(0.01)
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
            if not done:
                stdout_closed_early = True
                break
        if done:
            exit_code = os.waitstatus_to_exitcode(status)
    end = time.monotonic() + 0.08  # datagrams and late connections in flight
    while time.monotonic() < end or ((pump.frames_open or pump.relay_open) and time.monotonic() < end + 0.5):
        pump.step(0.02)
    if helper is not None:
        try:
            os.killpg(helper.pid, signal.SIGKILL)
        except OSError:
            pass
        helper.wait()
    left = survivors(skip | {pid} if exit_code is None else skip, helper.pid if helper else -1)
    report = {
        'exit': exit_code if exit_code is not None else 0,
        'hits': pump.hits,
        'received': pump.received,
        'survivors': left,
        'maxFds': max_fds,
        'maxProcs': max_procs,
        'full': full or full_filesystems(),
        'servers': servers or foreign_servers(ours),
    }
    if decoy:
        report['decoy'] = naive_host_after(pump, exit_code, stdout_closed_early)
    report.update(fake_host_changes(cfg, before))
    for s in list(pump.listeners) + list(pump.conns):
        s.close()
    for line in left:  # leftovers die with the jail anyway
        try:
            os.kill(int(line.split()[0]), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    sys.stdout.flush()
    os.write(1, ('\n@@LAB-REPORT %s %s\n' % (cfg['tag'], json.dumps(report))).encode())


# --- the target ---

def read_config():
    chunks = []
    while True:
        chunk = os.read(3, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(3)
    return json.loads(b''.join(chunks).decode('utf-8'))


def send_error_frame(exc):
    """As pybox's bootstrap does for an uncaught exception (the decoy host reads it)."""
    try:
        data = json.dumps({'t': 'error', 'type': type(exc).__name__, 'message': str(exc)[:4096], 'traceback': ''}).encode()
        os.write(4, struct.pack('>I', len(data)) + data)
    except BaseException:
        pass


def target():
    cfg = read_config()
    write, flush_out = os.write, sys.stdout.flush
    fmt = traceback.format_exception
    exit_ = os._exit
    tag = cfg['tag']

    if cfg['mode'] == 'ladder':
        ladder = {'__name__': 'ladder'}
        for index, source in enumerate(cfg['levels']):
            exec(compile(source, 'L%d.py' % index, 'exec'), ladder)
        sandbox = ladder['Sandbox']()
        for defence in ladder['DEFENCES']:
            defence(sandbox)
        execute = sandbox.execute
    else:
        if cfg['mode'] == 'language':
            # pybox's real language layer (src/guest/python/paths.py and policy.py),
            # installed into this module's globals as the bootstrap does into its own.
            g = globals()
            g['_b_os'] = __import__('posix')  # what the bootstrap binds it to
            exec(compile(cfg['policy'], 'bootstrap.py', 'exec'), g)
            g['install_policy']()
        import types

        def execute(code_string):
            # as bootstrap.run_user_code: a fresh __main__ module, real builtins
            main = types.ModuleType('__main__')
            main.__file__ = 'main.py'
            main.__builtins__ = builtins
            sys.modules['__main__'] = main
            code = compile(code_string, 'main.py', 'exec', dont_inherit=True)
            exec(code, main.__dict__)

    status = 0
    try:
        execute(cfg['attack'])
    except SystemExit as e:
        status = e.code if isinstance(e.code, int) else 1
        if status:
            send_error_frame(e)
    except BaseException as e:  # noqa: BLE001 - the attack's failure is reported, not fatal
        status = 1
        send_error_frame(e)
        try:
            sys.stderr.write(''.join(fmt(type(e), e, e.__traceback__)))
        except BaseException:
            # the defence under test may have broken traceback (L5 deletes __bases__)
            try:
                write(2, ('%s: %s\n' % (type(e).__name__, e)).encode())
            except BaseException:
                try:
                    write(2, ('%s\n' % type(e).__name__).encode())
                except BaseException:
                    pass
    try:
        flush_out()
        sys.stderr.flush()
    except BaseException:
        pass
    if cfg['followup']:
        try:
            write(1, ('\n@@FOLLOWUP-BEGIN %s\n' % tag).encode())
            try:
                execute(FOLLOWUP_SOURCE)
            finally:
                flush_out()
                write(1, ('\n@@FOLLOWUP-END %s\n' % tag).encode())
        except BaseException:
            pass
    exit_(status & 0xFF if isinstance(status, int) else 1)


if TARGET_ARG in sys.argv:
    try:
        target()
    except BaseException as e:  # noqa: BLE001 - a harness failure, not the attack's
        try:
            os.write(2, ('lab: the target process failed: %r\n' % (e,)).encode())
        except BaseException:
            pass
    finally:
        os._exit(70)
else:
    monitor()
