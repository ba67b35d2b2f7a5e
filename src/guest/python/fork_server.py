# The fork-server. Uses: every module above.
#
# One zygote per jail started by src/zygote/zygote.ts: bwrap runs it as the sandbox uid
# with CAP_SYS_ADMIN, CAP_SETPCAP and CAP_NET_ADMIN inside its own user namespace, as pid 1
# of its pid namespace, with no seccomp filter from bwrap and an unmasked /proc (each run
# mounts and masks a proc of its own). Its jail has no --disable-userns and no --dev: both
# make bwrap add a second user namespace, behind which every mount is locked and the
# kernel refuses the runs' proc mounts. It never runs user code. Once set up it keeps only
# CAP_SYS_ADMIN and CAP_NET_ADMIN and loads a seccomp filter of its own (harden()). Per "S"
# command it makes one warm child:
#
#   zygote --unshare(PID)+fork--> R: pid 1 of a new pid namespace; unshares mount, ipc
#                                    and uts; mounts a fresh /proc (masked), /dev/pts,
#                                    tmpfs /workspace, /tmp, /dev/shm; moves itself into
#                                    the run's cgroup (a slot: the host's open `tasks`
#                                    files; else it waits on the gate until the host has
#                                    moved it); closes every fd but its pipes; unshares
#                                    the cgroup namespace; forks G; drops every capability
#                                 G: pid 2; unshares net and brings lo up; drops every
#                                    capability (bounding, ambient, permitted, effective,
#                                    inheritable), sets no_new_privs, loads the seccomp
#                                    filter, warms the request path up (warm_up), and only
#                                    then waits for its request on fd 3 and runs main()
#                                    like a cold jail.
#
# R reaps G; then kills and reaps whatever G left (end_run), writes G's status (128 + n
# for signal n, like bwrap's pid 1) on the done pipe, and exits with it. The host answers
# from the done pipe; R's exit and the namespaces' teardown follow, and the zygote's
# waitpid on R returns once they are over (or when R was killed: the kernel kills what
# is left in the namespace with its pid 1). The host talks to G through
# pipes the zygote created; it opens its ends through /proc/<zygote>/fd/N and then tells
# the zygote to close its copies, so no pipe of one run is held by anything of another.

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS = 0x00020000, 0x02000000, 0x04000000
CLONE_NEWIPC, CLONE_NEWPID, CLONE_NEWNET = 0x08000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_NO_NEW_PRIVS = 4, 24, 38
PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 47, 4
SIOCSIFFLAGS, IFF_UP, IFF_RUNNING = 0x8914, 0x1, 0x40
CAP_NET_ADMIN, CAP_SYS_ADMIN = 12, 21
# A run's pipes, in R and G: stdin, stdout, stderr, ctrl-in, ctrl-out, the gate (host -> R),
# and the done pipe (R -> host, see end_run).
RUN_PIPES, GATE_FD, DONE_FD = 7, 5, 6
ZYGOTE_ONLY_MODULES = ("ctypes", "_ctypes", "ctypes._endian")


class _Zygote:
    def __init__(self, config):
        import ctypes

        self.ctypes = ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.config = config
        self.seccomp = config["seccomp"]
        self.devpts_options = f"newinstance,ptmxmode=0666,mode=620,max={int(config['ptys'])}"
        self.background_nice = int(config["backgroundNice"])
        # Per cgroup slot, the host's open `tasks` files of its hierarchies (see run_r).
        self.slots = config["slots"]
        self.cap_last = int(open("/proc/sys/kernel/cap_last_cap").read())
        self.pidns = _b_os.open("/proc/self/ns/pid", _b_os.O_RDONLY | _b_os.O_CLOEXEC)
        # The bounding set only limits what an execve could gain, and the zygote never
        # execs: empty it once, here, and every child inherits it empty (the capabilities
        # in effect, which R needs for its mounts, are not touched by this).
        for cap in range(self.cap_last + 1):
            self.prctl(PR_CAPBSET_DROP, cap)
        self.cap_header = (ctypes.c_uint32 * 2)(0x20080522, 0)
        self.cap_data = (ctypes.c_uint32 * 6)()
        self.harden(config)
        filt = config["seccomp"]
        self.seccomp_buf = ctypes.create_string_buffer(filt, len(filt))

        class SockFprog(ctypes.Structure):
            _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

        self.seccomp_prog = SockFprog(len(filt) // 8, ctypes.addressof(self.seccomp_buf))
        self.proc_plan = self.plan_proc_masks(config["procMasks"])
        self.tmp_files = ()  # what the preload left in our /tmp, copied into each run's (see load_preload)
        self.ifreq_lo = ctypes.create_string_buffer(b"lo".ljust(16, b"\0") + (IFF_UP | IFF_RUNNING).to_bytes(2, "little"), 40)

    def harden(self, config):
        """The zygote keeps only what it still needs once set up (see SECURITY.md, "The zygote"):
        CAP_SYS_ADMIN (unshare, setns, R's mounts) and CAP_NET_ADMIN (R's loopback) in
        effect and permitted; CAP_SETPCAP (the bounding set is emptied above), the
        inheritable and the ambient sets go (it never execs). Non-dumpable when the host can
        still open its pipes through /proc (host root): nothing of its uid may ptrace it or
        read its /proc entries. Then its own seccomp filter (src/zygote/zygote-seccomp.ts)."""
        self.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
        kept = (1 << CAP_SYS_ADMIN) | (1 << CAP_NET_ADMIN)
        self.cap_data[0] = self.cap_data[1] = kept  # effective, permitted (low words); inheritable 0
        self.check(self.libc.capset(self.cap_header, self.cap_data), "capset")
        self.cap_data[0] = self.cap_data[1] = 0  # drop_capabilities (R's and G's): everything
        if not config["dumpable"]:
            self.prctl(PR_SET_DUMPABLE, 0)
        seccomp_loader()(config["zygoteSeccomp"])

    @staticmethod
    def plan_proc_masks(masks):
        """The mounts that mask a fresh /proc, decided once: every run's /proc has the same
        entries as ours (one kernel), so each child only replays the list.
        The first file mask is a read-only bind of /dev/null (nodev: it cannot even be
        opened, as under bwrap); every other file mask is a bind of that one, which keeps
        its flags: one mount call per mask. Dirs: one empty read-only tmpfs, bound likewise."""
        flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
        plan = []
        first_file = first_dir = None
        for name in masks["files"]:
            path = "/proc/" + name
            if not _exists(path):
                continue
            if first_file is None:
                plan.append(("/dev/null", path, None, MS_BIND, None))
                plan.append((None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | flags, None))
                first_file = path
            else:
                plan.append((first_file, path, None, MS_BIND, None))
        for name in masks["dirs"]:
            path = "/proc/" + name
            if not _is_dir(path):
                continue
            if first_dir is None:
                plan.append(("tmpfs", path, "tmpfs", MS_RDONLY | flags, "size=4k,mode=755"))
                first_dir = path
            else:
                plan.append((first_dir, path, None, MS_BIND, None))
        for name in ("sys", "sysrq-trigger", "irq", "bus"):  # read-only, as bwrap's --proc leaves them
            path = "/proc/" + name
            if _exists(path):
                plan.append((path, path, None, MS_BIND | MS_REC, None))
                plan.append((None, path, None, MS_BIND | MS_REMOUNT | MS_RDONLY | flags, None))
        return [tuple(x.encode() if isinstance(x, str) else x for x in step) for step in plan]

    def check(self, result, what):
        if result != 0:
            errno = self.ctypes.get_errno()
            raise OSError(errno, f"{what}: {_b_os.strerror(errno)}")

    def unshare(self, flags):
        self.check(self.libc.unshare(flags), "unshare")

    def mount(self, source, target, fstype, flags, data=None):
        enc = lambda v: None if v is None else v.encode()
        self.check(self.libc.mount(enc(source), enc(target), enc(fstype), self.ctypes.c_ulong(flags), enc(data)), f"mount {target}")

    def prctl(self, option, arg2=0, arg3=0, arg4=0, arg5=0):
        c = self.ctypes.c_ulong
        self.check(self.libc.prctl(option, c(arg2), c(arg3), c(arg4), c(arg5)), f"prctl {option}")

    def collect_unix_garbage(self):
        """Creates and releases a unix socket: the kernel runs its unix-socket garbage
        collector when one is released, which frees what a finished run left in flight
        (sockets and memfds sent over SCM_RIGHTS, then closed: charged to its cgroup, and
        kept until some unix socket on the host is released)."""
        fd = self.libc.socket(1, 2 | _b_os.O_CLOEXEC, 0)  # AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC
        if fd >= 0:
            _b_os.close(fd)

    def load_preload(self, names, site_paths, tmp_bytes):
        """The Sandbox's preload, imported once here and shared by every child. Its imports
        write to /tmp (matplotlib's font cache): a tmpfs of our own for the while, read-only
        after; what they left there is copied into each run's /tmp (restore_tmp), so no
        run rebuilds it."""
        flags = MS_NOSUID | MS_NODEV
        self.mount("tmpfs", "/tmp", "tmpfs", flags, f"size={tmp_bytes},mode=1777")
        import_preload(names, site_paths)
        warm_preloaded()
        self.tmp_files = tuple(_tree_files("/tmp"))
        self.mount(None, "/tmp", None, MS_REMOUNT | MS_RDONLY | flags)

    def restore_tmp(self):
        """R, in the run's cgroup: the zygote's /tmp files into the run's own /tmp."""
        for rel, data in self.tmp_files:
            path = "/tmp" + rel
            if data is None:
                _b_os.mkdir(path, 0o700)
                continue
            fd = _b_os.open(path, _b_os.O_WRONLY | _b_os.O_CREAT | _b_os.O_EXCL | _b_os.O_NOFOLLOW | _b_os.O_CLOEXEC, 0o600)
            try:
                write_all(fd, data)
            finally:
                _b_os.close(fd)

    # -- R: pid 1 of the run --

    def setup_run(self, workspace_bytes, tmp_bytes):
        self.mount(None, "/", None, MS_REC | MS_PRIVATE)
        self.mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        mount, check = self.libc.mount, self.check
        for source, target, fstype, flags, data in self.proc_plan:
            check(mount(source, target, fstype, flags, data), "mount")
        # max=: every non-initial devpts instance draws on one host-wide pool of ptys
        self.mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, self.devpts_options)
        self.mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_bytes},mode=1777")
        self.mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={tmp_bytes},mode=1777")
        self.mount("tmpfs", "/workspace", "tmpfs", MS_NOSUID | MS_NODEV, f"size={workspace_bytes},mode=0755")

    def loopback_up(self):
        """ifconfig lo up, as bwrap does in its network namespace (through libc: importing
        socket here would cost milliseconds per run)."""
        fd = self.libc.socket(2, 2, 0)  # AF_INET, SOCK_DGRAM
        if fd < 0:
            self.check(-1, "socket")
        try:
            self.check(self.libc.ioctl(fd, self.ctypes.c_ulong(SIOCSIFFLAGS), self.ifreq_lo), "ioctl SIOCSIFFLAGS lo")
        finally:
            _b_os.close(fd)

    # -- G: the run itself, before its request --

    def drop_capabilities(self):
        self.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
        # (the bounding set is already empty: see __init__)
        # capset(v3): effective, permitted and inheritable all empty
        self.check(self.libc.capset(self.cap_header, self.cap_data), "capset")
        self.prctl(PR_SET_NO_NEW_PRIVS, 1)

    def drop_privileges(self):
        """G, once it has dropped every capability and set no_new_privs."""
        self.prctl(PR_SET_DUMPABLE, 1)
        c = self.ctypes
        self.check(self.libc.prctl(PR_SET_SECCOMP, c.c_ulong(SECCOMP_MODE_FILTER), c.byref(self.seccomp_prog), c.c_ulong(0), c.c_ulong(0)), "seccomp")

    def spawn(self, workspace_bytes, tmp_bytes, slot):
        """Forks R, which joins cgroup slot `slot` itself (-1: the host moves it in and
        opens the gate). Returns (R's pid, a pipe R closes once its namespaces exist (or
        writes why not), the host's ends: stdin-w, stdout-r, stderr-r, ctrl-in-w,
        ctrl-out-r, gate-w, done-r), or None in G. The server loop does not wait on R: a run
        ending meanwhile is reported at once."""
        pipes = [_b_os.pipe() for _ in range(RUN_PIPES)]  # stdin, stdout, stderr, ctrl-in, ctrl-out, gate, done
        child_ends = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][0], pipes[4][1], pipes[5][0], pipes[6][1]]
        host_ends = [pipes[0][1], pipes[1][0], pipes[2][0], pipes[3][1], pipes[4][0], pipes[5][1], pipes[6][0]]
        # unshare(CLONE_NEWPID) applies to our next child, which becomes pid 1 of a new pid
        # namespace; setns() puts us back into our own at once. R unshares the rest.
        rp, wp = _b_os.pipe()
        self.unshare(CLONE_NEWPID)
        try:
            c = _b_os.fork()
        except BaseException:
            self.check(self.libc.setns(self.pidns, CLONE_NEWPID), "setns")
            _b_os.close(rp)
            _b_os.close(wp)
            raise
        if c == 0:
            _b_os.close(rp)
            try:
                self.unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS)
                # A session of its own, and so a scheduling autogroup of its own, before the
                # zygote reports the fork: the host sets the group's weight (background
                # until the run is claimed, and again once it has answered).
                _b_os.setsid()
            except BaseException as exc:
                try:
                    _b_os.write(wp, b"!" + str(exc).encode()[:200])
                finally:
                    _b_os._exit(1)
            _b_os.close(wp)
            self.run_r(child_ends, workspace_bytes, tmp_bytes, slot)  # returns only in G
            return None
        self.check(self.libc.setns(self.pidns, CLONE_NEWPID), "setns")
        _b_os.close(wp)
        for fd in child_ends:
            _b_os.close(fd)
        return c, rp, host_ends

    def run_r(self, child_ends, workspace_bytes, tmp_bytes, slot):
        try:
            base = max(child_ends) + 1  # above every end, so no dup2 clobbers one
            for i, fd in enumerate(child_ends):
                _b_os.dup2(fd, base + i)
            for i in range(RUN_PIPES):
                _b_os.dup2(base + i, i)
            joins = self.slots[slot] if slot >= 0 else ()
            for i, fd in enumerate(joins):
                _b_os.dup2(fd, RUN_PIPES + i)
            _b_os.closerange(RUN_PIPES + len(joins), 1 << 20)  # nothing of the zygote or of other children
            self.setup_run(workspace_bytes, tmp_bytes)
            self.prctl(PR_SET_DUMPABLE, 0)
            if slot >= 0:
                # Into the run's cgroup by itself: "0" into each hierarchy's tasks file
                # (the host opened them; a thread moving itself skips the lock a move by
                # pid takes). The host checks it is in before it sends a request.
                for i in range(len(joins)):
                    _b_os.write(RUN_PIPES + i, b"0")
            elif _b_os.read(GATE_FD, 1) != b"g":
                _b_os._exit(126)  # the host gave up on this child
            _b_os.close(GATE_FD)
            _b_os.closerange(RUN_PIPES, 1 << 20)  # the slot's files
            self.restore_tmp()
            self.unshare(CLONE_NEWCGROUP)  # G sees its own cgroup as /
            # pid 1 keeps no handler G could trigger (_signal: the signal module costs an import)
            _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
            child = _b_os.fork()
            if child:
                # Nothing privileged is left for R to do (G drops its own, see enter_g).
                self.drop_capabilities()
        except BaseException as exc:
            try:
                import traceback

                _b_os.write(2, f"pybox zygote: {exc} (line {traceback.extract_tb(exc.__traceback__)[-1].lineno})\n".encode())
            finally:
                _b_os._exit(125)
        if child == 0:
            self.enter_g()
            return
        status = 125
        try:
            for fd in range(5):
                _b_os.close(fd)
            # R only reaps. It stays non-dumpable, so the run (same uid) cannot ptrace it
            # or read its /proc entries.
            while True:
                pid, st = _b_os.waitpid(-1, 0)
                if pid == child:
                    break
            status = _b_os.waitstatus_to_exitcode(st)
            status = 128 - status if status < 0 else status
            self.end_run(status)
        except BaseException:
            status = 125
        _b_os._exit(status)

    def end_run(self, status):
        """G has exited: what it left running is killed and reaped (as pid 1 R is every
        orphan's parent, so ECHILD means no other process of the run is left), and only
        then is G's status written on the done pipe, which no process of the run ever held.
        The host may answer from here on: what remains, R's exit and the namespaces'
        teardown, is pybox's own and is waited for apart from the run's result."""
        try:
            _b_os.kill(-1, _signal.SIGKILL)  # every process of the namespace but R itself
        except OSError:
            pass  # none left
        while True:
            try:
                _b_os.waitpid(-1, 0)
            except ChildProcessError:
                break
            except InterruptedError:
                continue
        _b_os.write(DONE_FD, bytes((status,)))
        _b_os.close(DONE_FD)
        # What is left (R's exit, the namespaces' teardown) is pybox's own, after the answer:
        # at the priority jails are made at, behind the next run.
        _b_os.setpriority(_b_os.PRIO_PROCESS, 0, self.background_nice)
        # What the run left in flight over SCM_RIGHTS (even its pipes' ends) is freed now,
        # not when something else on the host releases a unix socket.
        self.collect_unix_garbage()

    def enter_g(self):
        _b_os.close(DONE_FD)  # R's alone: the program can never say it is done
        try:
            # The run's network namespace is G's, not R's: once G and all it started are
            # gone, no process holds it, though R may still be on its way out.
            self.unshare(CLONE_NEWNET)
            self.loopback_up()
            self.drop_capabilities()
            _signal.signal(_signal.SIGINT, _signal.default_int_handler)  # as in any Python
            self.drop_privileges()
        except BaseException as exc:
            try:
                _b_os.write(2, f"pybox zygote: {exc}\n".encode())
            finally:
                _b_os._exit(125)
        # Nothing of the fork-server stays reachable by name from the program.
        for name in ZYGOTE_ONLY_MODULES:
            if name not in self.config["preload"]:  # asked for by the Sandbox: stays, as on every path
                sys.modules.pop(name, None)
        self.__dict__.clear()  # libc, ctypes buffers, the configuration: all of it


def _tree_files(root):
    """Every directory (data None) and regular file (its bytes) under root, a directory
    before what it holds, as (path relative to root, data)."""
    out, todo = [], [""]
    while todo:
        rel = todo.pop()
        for name in sorted(_b_os.listdir(root + rel)):
            path = rel + "/" + name
            kind = _b_os.lstat(root + path).st_mode & S_IFMT
            if kind == S_IFDIR:
                out.append((path, None))
                todo.append(path)
            elif kind == S_IFREG:
                with open(root + path, "rb") as f:
                    out.append((path, f.read()))
    return out


def zygote_main():
    import select

    config = read_request_frame(CTRL_IN)
    z = _Zygote(config)
    preload()
    if config["preload"]:
        z.load_preload(config["preload"], config["sitePaths"], config["tmpBytes"])
    _SECCOMP_LOADER[0] = seccomp_loader()
    # Everything loaded so far moves to the permanent generation: a child's collections
    # never walk (and so never copy-on-write) the pages it shares with us.
    import gc

    gc.collect()
    gc.freeze()
    # What the imports freed in the C heap goes back to the kernel (~0.6 MiB after a data
    # preload): every child maps what we keep resident, and a child that needs heap again
    # gets fresh zero pages instead of copies of ours.
    z.libc.malloc_trim(0)
    pending = {}  # id -> host ends, until the host has opened them
    running = {}  # pid -> id
    buf = b""
    poller = select.poll()
    poller.register(CTRL_IN, select.POLLIN)
    pidfds = {}  # pidfd -> pid
    forks = {}  # R's set-up pipe -> [id, R's pid, host ends, error so far]

    def event(line):
        write_all(CTRL_OUT, line.encode() + b"\n")

    event("hello %d" % _b_os.getpid())
    while True:
        # A run's end is reported before anything else is done: its result waits on it,
        # while a fork only refills. So exits first, then set-ups, then commands, and at
        # most one fork (~0.3 ms) per round, with a look for exits before the next.
        ready = poller.poll(0 if b"\n" in buf else None)
        ready.sort(key=lambda e: 0 if e[0] in pidfds else 1 if e[0] in forks else 2)
        for fd, _ in ready:
            if fd in pidfds:
                pid = pidfds.pop(fd)
                poller.unregister(fd)
                _b_os.close(fd)
                _, st = _b_os.waitpid(pid, 0)
                cid = running.pop(pid)
                for end in pending.pop(cid, ()):
                    _b_os.close(end)
                event("X %s %d" % (cid, st))
            elif fd in forks:
                entry = forks[fd]
                chunk = _b_os.read(fd, 256)
                if chunk:
                    entry[3] += chunk
                    continue
                # EOF: R has its namespaces (or has told us why not, and exits).
                cid, pid, ends, answer = forks.pop(fd)
                poller.unregister(fd)
                _b_os.close(fd)
                if answer:
                    _b_os.waitpid(pid, 0)
                    for end in ends:
                        _b_os.close(end)
                    event("E %s fork: %s" % (cid, answer[1:].decode(errors="replace").replace("\n", " ")))
                    continue
                pending[cid] = ends
                running[pid] = cid
                pidfd = _b_os.pidfd_open(pid)
                pidfds[pidfd] = pid
                poller.register(pidfd, select.POLLIN)
                event("P %s %d %s" % (cid, pid, " ".join(map(str, ends))))
            else:
                chunk = _b_os.read(CTRL_IN, 65536)
                if not chunk:
                    return  # the host is gone
                buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            parts = line.decode().split()
            if len(parts) < 2:
                continue
            cmd, cid = parts[0], parts[1]
            if cmd == "C":
                for end in pending.pop(cid, ()):
                    _b_os.close(end)
            elif cmd == "S":
                try:
                    started = z.spawn(int(parts[2]), int(parts[3]), int(parts[4]))
                except OSError as exc:
                    event("E %s %s" % (cid, str(exc).replace("\n", " ")))
                    continue
                if started is None:
                    return "run"  # we are G now: leave the server loop, run main()
                c, rp, ends = started
                forks[rp] = [cid, c, ends, b""]
                poller.register(rp, select.POLLIN)
                break
