# pybox guest bootstrap: the first Python that runs inside the jail.
#
# It reads one request from the control pipe (fd 3), lowers its own rlimits
# (hard = soft, so the program cannot raise them), writes the input files into
# /workspace, installs the language-level policy (PEP 578 audit hooks and an
# import policy), runs the user's code as __main__, then reports the uncaught
# exception and the collected files as length-prefixed frames on fd 4 (JSON, and
# each file's raw bytes after its frame).
#
# The request is a marshal-encoded dict (marshal is built in: no json, no re on the
# cold path). The host usually ships this file precompiled, as a marshalled code
# object in front of the request on fd 3 (see BOOTSTRAP_STUB in src/zygote/precompile.ts).
#
# The same file is the fork-server ("zygote", src/zygote/): started with the argument
# "zygote", it serves fork requests instead of running one program (see zygote_main).
#
# None of this is the security boundary: the OS jail around us is. The host
# treats every frame as untrusted guest output.
import sys

# posix, not os: the same system calls, while importing os (and _collections_abc with
# it) costs ~1.3 ms of every cold start; the few path helpers needed are below.
_b_os = __import__("posix")
_b_marshal = __import__("marshal")
_b_resource = __import__("resource")
_signal = __import__("_signal")  # built in and initialised at start-up
_imp = __import__("_imp")  # built in: _fix_co_filename names code objects as importlib does

CTRL_IN, CTRL_OUT = 3, 4
WORKSPACE = "/workspace"
MAX_REQUEST_BYTES = 256 * 1024 * 1024
BOOTSTRAP_FILE = sys._getframe().f_code.co_filename


def length_prefixed(payload):
    """[u32 big-endian length][payload]: every frame to the host (lengthPrefixed in protocol.ts)."""
    return len(payload).to_bytes(4, "big") + payload


READY_FRAME = length_prefixed(b'{"t":"ready"}')
# A zygote's child says it is set up and waits (before its request: the host then readies
# its cgroup counters and priority off the request's path). See WARM_FRAME in protocol.ts.
WARM_FRAME = length_prefixed(b'{"t":"warm"}')


def read_request(fd=CTRL_IN):
    """The request: one length-prefixed marshal frame. Read to its length, not to EOF: the
    host's close of the pipe can come a wake-up later than its write."""
    request = read_request_frame(fd)
    _b_os.close(fd)
    return request


def write_all(fd, data):
    view = memoryview(data)
    while view:
        view = view[_b_os.write(fd, view):]


def send_frame(obj, raw=b""):
    """A frame made ahead (bytes), or a dict sent as a JSON frame (at most 64 KiB: the
    host's MAX_CONTROL_FRAME_BYTES), then `raw` as it is (a file's bytes)."""
    data = obj if isinstance(obj, bytes) else length_prefixed(__import__("json").dumps(obj, ensure_ascii=False).encode("utf-8", "replace"))
    try:
        write_all(CTRL_OUT, data)
        if raw:
            write_all(CTRL_OUT, raw)
    except OSError:
        pass  # the program closed or replaced fd 4, or the host stopped reading: it only loses its own report


def apply_rlimits(rlimits):
    for name, soft, hard in rlimits:
        if name == "RLIMIT_CPU":
            # The kernel counts a process's CPU from its start, the run's budget from the
            # request. A warm jail spent CPU before it (start-up, warm-up): without this, the
            # rlimit fired that much before the run's counter reached its budget.
            used = _cpu_seconds_used()
            soft, hard = soft + used, hard + used
        _b_resource.setrlimit(getattr(_b_resource, name), (soft, hard))


def _cpu_seconds_used():
    """This process's CPU so far, in whole seconds rounded up (RLIMIT_CPU's unit)."""
    usage = _b_resource.getrusage(_b_resource.RUSAGE_SELF)
    return -int(-(usage.ru_utime + usage.ru_stime) // 1)


# --- workspace files, walked one component at a time with O_NOFOLLOW ---

def _dir_fd_for(parts, create):
    fd = _b_os.open(WORKSPACE, _b_os.O_RDONLY | _b_os.O_DIRECTORY)
    for part in parts:
        if create:
            try:
                _b_os.mkdir(part, 0o755, dir_fd=fd)
            except FileExistsError:
                pass
        try:
            nxt = _b_os.open(part, _b_os.O_RDONLY | _b_os.O_DIRECTORY | _b_os.O_NOFOLLOW, dir_fd=fd)
        finally:
            _b_os.close(fd)
        fd = nxt
    return fd


def write_input_file(rel, data):
    parts = rel.split("/")
    dfd = _dir_fd_for(parts[:-1], create=True)
    try:
        flags = _b_os.O_WRONLY | _b_os.O_CREAT | _b_os.O_EXCL | _b_os.O_NOFOLLOW
        fd = _b_os.open(parts[-1], flags, 0o644, dir_fd=dfd)
    finally:
        _b_os.close(dfd)
    try:
        view = memoryview(data)
        while view:
            view = view[_b_os.write(fd, view):]
    finally:
        _b_os.close(fd)


def read_output_file(rel, max_bytes):
    parts = rel.split("/")
    dfd = _dir_fd_for(parts[:-1], create=False)
    try:
        fd = _b_os.open(parts[-1], _b_os.O_RDONLY | _b_os.O_NOFOLLOW | _b_os.O_NONBLOCK, dir_fd=dfd)
    finally:
        _b_os.close(dfd)
    try:
        st = _b_os.fstat(fd)
        if (st.st_mode & S_IFMT) != S_IFREG or st.st_size > max_bytes:
            return None
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = _b_os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            chunks.append(chunk)
        return None if total > max_bytes else b"".join(chunks)
    finally:
        _b_os.close(fd)


def collect_files(patterns, max_files, max_bytes):
    """Each file as {t: file, path, size} and then its bytes. What glob answers for a
    trailing ** matching nothing ("dir/") is a directory: skipped (the host agrees)."""
    import glob

    seen, budget = set(), max_bytes
    for pattern in patterns:
        matches = sorted(glob.glob(pattern, root_dir=WORKSPACE, recursive=True))
        for rel in matches:
            if rel.endswith("/"):
                continue
            rel = _normpath(rel)
            if rel in seen or rel.startswith("../") or rel == ".." or rel.startswith("/"):
                continue
            if len(seen) >= max_files:
                return
            try:
                data = read_output_file(rel, budget)
            except OSError:
                continue
            if data is None:
                continue
            seen.add(rel)
            budget -= len(data)
            send_frame({"t": "file", "path": rel, "size": len(data)}, data)


# --- the language-level policy (defence in depth, clear errors) ---

DENIED_MODULES = frozenset({
    "ctypes", "_ctypes", "_testcapi", "_testinternalcapi", "_testmultiphase",
    "_xxsubinterpreters", "_xxinterpchannels", "_testbuffer", "_testclinic",
    "_ctypes_test", "_testimportmultiple", "_xxtestfuzz",
})
WRITABLE_ROOTS = ("/workspace", "/tmp", "/dev/null", "/dev/shm")
WRITE_FLAGS = _b_os.O_WRONLY | _b_os.O_RDWR | _b_os.O_CREAT | _b_os.O_TRUNC | _b_os.O_APPEND
PATH_WRITE_EVENTS = frozenset({
    "os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.symlink", "os.link",
    "os.chmod", "os.chown", "os.truncate", "os.utime", "os.mkfifo", "os.mknod",
    "shutil.rmtree", "shutil.move", "shutil.copyfile", "shutil.copytree",
})
# Events whose first path is only read (a link's target, a copy's source): only the second is written.
SOURCE_READ_EVENTS = frozenset({"os.symlink", "os.link", "shutil.copyfile", "shutil.copytree"})
# Events that act on a path's last entry itself, not on what a symlink there points to
# (removing or renaming a link changes the directory that holds it, never its target).
ENTRY_EVENTS = frozenset({
    "os.remove", "os.rmdir", "os.rename", "os.symlink", "os.link", "os.mkdir", "os.mkfifo",
    "os.mknod", "shutil.rmtree", "shutil.move",
})
PROCESS_EVENTS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "os.startfile", "pty.spawn", "os.forkpty",
})
NETWORK_EVENTS = frozenset({
    "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
    "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
    "socket.gethostname", "socket.sethostname", "socket.getnameinfo",
})


# --- paths on posix calls alone (the policy resolves what a write would reach with _realpath) ---

S_IFMT, S_IFDIR, S_IFREG, S_IFLNK = 0o170000, 0o040000, 0o100000, 0o120000
_normpath = _b_os._path_normpath  # posixpath.normpath's own C implementation


def _is_dir(path):
    try:
        return (_b_os.stat(path).st_mode & S_IFMT) == S_IFDIR
    except (OSError, ValueError):
        return False


def _exists(path):
    try:
        _b_os.stat(path)
        return True
    except (OSError, ValueError):
        return False


def _realpath(path):
    """posixpath.realpath (not strict) for a str path: symlinks resolved one component at
    a time, a missing component taken as it is, a symlink loop left unresolved."""
    if not path.startswith("/"):
        path = _b_os.getcwd() + "/" + path
    return _normpath(_join_real("/", path, {})[0])


def _join_real(path, rest, seen):
    # posixpath._joinrealpath for an absolute `path`, which never holds "." or "..".
    if rest.startswith("/"):
        rest, path = rest[1:], "/"
    while rest:
        name, _, rest = rest.partition("/")
        if not name or name == ".":
            continue
        if name == "..":
            path = path[:path.rfind("/")] or "/"
            continue
        newpath = path + name if path == "/" else path + "/" + name
        try:
            is_link = (_b_os.lstat(newpath).st_mode & S_IFMT) == S_IFLNK
        except (OSError, ValueError):
            is_link = False
        if not is_link:
            path = newpath
            continue
        if newpath in seen:
            path = seen[newpath]
            if path is not None:
                continue  # resolved before
            return newpath + "/" + rest, False  # a loop
        seen[newpath] = None
        path, ok = _join_real(path, _b_os.readlink(newpath), seen)
        if not ok:
            return path + "/" + rest, False
        seen[newpath] = path
    return path, True


def install_policy():
    sys.addaudithook(policy_hook())


# --- the kernel's half of the strict policy ---

PR_GET_SECCOMP, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 21, 22, 2
# The loader, built ahead where a jail waits warm (the zygote, pooled jails): built in a
# forked child it would fault in the whole import machinery on the request's path.
# main() takes it out of here before any user code runs.
_SECCOMP_LOADER = [None]


def seccomp_loader():
    """load(prog): stacks the BPF program `prog` (struct sock_filter[] bytes the host
    compiled: the rules of the strict policy the kernel can hold, src/jail/seccomp/strict.ts)
    on this process's seccomp filters. Everything the program runs or forks keeps it, and
    no filter can be taken off again. Python has no prctl: this is _ctypes alone (ctypes
    itself imports os and costs ~8 ms), used only by the trusted bootstrap; _ctypes leaves
    sys.modules at once, and the strict policy denies its import. no_new_privs is already
    set (by bwrap, or by the zygote's R), and nothing here has started a thread."""
    ct = __import__("_ctypes")
    sys.modules.pop("_ctypes", None)

    class Ulong(ct._SimpleCData):
        _type_ = "L"

    class CharP(ct._SimpleCData):
        _type_ = "z"

    class Int(ct._SimpleCData):
        _type_ = "i"

    class CFunction(ct.CFuncPtr):
        _flags_ = ct.FUNCFLAG_CDECL | ct.FUNCFLAG_USE_ERRNO
        _restype_ = Int

    prctl = CFunction(ct.dlsym(ct.dlopen(None, 0), "prctl"))
    get_errno, byteorder = ct.get_errno, sys.byteorder

    def load(prog, option=PR_SET_SECCOMP):
        program = CharP(prog)  # keeps prog alive; its value is the address of prog's bytes
        address = Ulong.from_buffer(program).value
        # struct sock_fprog { unsigned short len; (padding) struct sock_filter *filter; }
        fprog = (len(prog) // 8).to_bytes(2, byteorder) + bytes(6) + address.to_bytes(8, byteorder)
        result = prctl(Ulong(option), Ulong(SECCOMP_MODE_FILTER), fprog, Ulong(0), Ulong(0))
        if result < 0:
            errno = get_errno()
            raise OSError(errno, "prctl(PR_SET_SECCOMP): " + _b_os.strerror(errno))
        return result

    return load


def load_strict_filter(prog):
    """The strict request's filter, stacked before the ready frame: a jail that cannot hold
    the strict policy never came up (the host reports internal_error)."""
    load, _SECCOMP_LOADER[0] = _SECCOMP_LOADER[0], None
    try:
        if not prog or len(prog) % 8:
            raise OSError("a strict request without its seccomp filter")
        (load or seccomp_loader())(prog)
    except Exception as exc:
        _b_os.write(2, ("pybox: cannot load the strict policy's seccomp filter: %s\n" % exc).encode())
        _b_os._exit(70)


def policy_hook():
    os_fspath, realpath = _b_os.fspath, _realpath
    AF_UNIX = 1
    # Bound here, not looked up in module globals at call time: a frame walk that reaches
    # this module's globals must not be able to widen the policy by rebinding a name.
    roots, denied_modules, write_flags = WRITABLE_ROOTS, DENIED_MODULES, WRITE_FLAGS
    path_write_events, process_events, network_events = PATH_WRITE_EVENTS, PROCESS_EVENTS, NETWORK_EVENTS
    source_read_events, entry_events = SOURCE_READ_EVENTS, ENTRY_EVENTS

    def deny(what):
        raise PermissionError(f"pybox: {what} is not allowed")

    def deny_import(name):
        # An ImportError, as for a module that is not there: `try: import x / except
        # ImportError:` (test.support does it for _testcapi) takes its fallback.
        raise ModuleNotFoundError(f"pybox: import of {name!r} is not allowed", name=name)

    def writable(path, entry=False):
        if isinstance(path, int):
            return True
        try:
            p = os_fspath(path)
            if isinstance(p, bytes):
                p = p.decode("utf-8", "surrogateescape")
            head, _, name = p.rpartition("/")
            if entry and name not in ("", ".", ".."):  # the entry in its resolved directory
                parent = head or ("/" if p.startswith("/") else ".")
                p = realpath(parent).rstrip("/") + "/" + name
            else:
                p = realpath(p)
        except Exception:
            return False
        return any(p == root or p.startswith(root + "/") for root in roots)

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            wants_write = (isinstance(flags, int) and flags & write_flags) or (
                isinstance(mode, str) and any(c in mode for c in "wax+"))
            if wants_write and path is not None and not writable(path):
                deny(f"writing {path!r} (outside /workspace and /tmp)")
        elif event in path_write_events:
            for arg in args[1:2] if event in source_read_events else args[:2]:
                if isinstance(arg, (str, bytes)) or hasattr(arg, "__fspath__"):
                    if not writable(arg, event in entry_events):
                        deny(f"{event} on {arg!r} (outside /workspace and /tmp)")
        elif event in process_events:
            deny(f"starting a program ({event})")
        elif event.startswith("ctypes."):
            deny(f"ctypes ({event})")
        elif event == "import":
            name = args[0]
            if isinstance(name, str) and name.partition(".")[0] in denied_modules:
                deny_import(name)
        elif event == "socket.__new__":
            family = args[1]
            if family != AF_UNIX and family != -1:
                deny("network access")
        elif event in network_events:
            deny(f"network access ({event})")

    return hook


# --- running the user's code ---

def register_source(source, filename):
    """main.py's source for tracebacks, once linecache is loaded (loading it costs ~5 ms)."""
    lc = sys.modules.get("linecache")
    if lc is not None:
        lc.cache[filename] = (len(source), None, source.splitlines(True), filename)


class _MainSource:
    """__loader__ of __main__: linecache finds main.py's source through it when the program
    imports traceback or linecache itself."""

    def __init__(self, source):
        self._source = source

    def get_source(self, name):
        return self._source


def user_traceback(exc):
    """The traceback without the bootstrap's frames (its runner and its audit hook)."""
    import traceback

    main_module = sys.modules.get("__main__")
    loader = getattr(main_module, "__loader__", None)
    if isinstance(loader, _MainSource):
        register_source(loader._source, getattr(main_module, "__file__", ""))
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    todo, seen = [te], set()
    while todo:
        t = todo.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        t.stack = traceback.StackSummary.from_list([f for f in t.stack if f.filename != BOOTSTRAP_FILE])
        todo.extend(x for x in (t.__cause__, t.__context__) if x is not None)
    return "".join(te.format())


# exec() of the source string, not compile(): a process's first compile() call builds
# CPython's AST types (~0.7 ms of every cold start; `python -c` never pays it), exec(str)
# does not. Its code is named "<string>" by CPython; the "exec" audit event hands it over
# compiled and not yet run, and _imp._fix_co_filename names it (and the code nested in it)
# after the program's file. Module-level state, not a closure: the hook has nothing to guard.
_NAME_NEXT_EXEC = [None]


def _name_main_code(event, args):
    if event == "exec" and _NAME_NEXT_EXEC[0] is not None:
        _imp._fix_co_filename(args[0], _NAME_NEXT_EXEC[0])
        _NAME_NEXT_EXEC[0] = None


def run_user_code(source, filename):
    register_source(source, filename)
    main = type(sys)("__main__")
    main.__file__ = filename
    main.__builtins__ = __builtins__
    main.__loader__ = _MainSource(source)
    sys.modules["__main__"] = main
    _NAME_NEXT_EXEC[0] = filename
    try:
        exec(source, main.__dict__)
    except SyntaxError as exc:
        if _NAME_NEXT_EXEC[0] is not None:  # the program itself did not compile
            exc.filename = filename
        raise
    finally:
        _NAME_NEXT_EXEC[0] = None


def release_user_memory(exc):
    """After a MemoryError the program's objects still fill the memory limit, and reporting
    the error (formatting the traceback, encoding the frame) needs some: drop the program's
    globals and the locals of its finished frames. A traceback needs neither."""
    main_module = sys.modules.get("__main__")
    if main_module is not None:
        keep = {k: main_module.__dict__.get(k) for k in ("__name__", "__file__", "__loader__")}
        main_module.__dict__.clear()
        main_module.__dict__.update(keep)
    tb = exc.__traceback__
    while tb is not None:
        try:
            tb.tb_frame.clear()
        except RuntimeError:
            pass  # a frame still running (ours)
        tb = tb.tb_next
    __import__("gc").collect()


def exit_code_of(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def main(announce=False):
    _b_os.closerange(CTRL_OUT + 1, 1 << 20)  # nothing but our pipes crosses into the program
    if announce:
        send_frame(WARM_FRAME)
    req = read_request()
    if req["policy"] == "strict":
        load_strict_filter(req["seccomp"])
    _SECCOMP_LOADER[0] = None  # nothing of it stays reachable from the program
    send_frame(READY_FRAME)  # the jail came up: from here on, a failure is the program's
    apply_rlimits(req["rlimits"])
    for rel, data in req["files"]:
        write_input_file(rel, data)
    _b_os.chdir(WORKSPACE)
    filename = req["filename"]
    sys.argv = [filename] + list(req["argv"])
    sys.path[:0] = [WORKSPACE]
    sys.path.extend(p for p in req["extraPaths"] if _is_dir(p))
    sys.addaudithook(_name_main_code)
    if req["policy"] == "strict":
        install_policy()

    status = 0
    try:
        run_user_code(req["code"], filename)
    except SystemExit as exc:
        status = exit_code_of(exc)
        if status != 0:
            send_frame({"t": "error", "type": "SystemExit", "message": str(exc.code)[:2000], "traceback": ""})
    except BaseException as exc:  # noqa: BLE001 - every escape of the user's code is reported
        status = 1
        if isinstance(exc, MemoryError):
            release_user_memory(exc)
        try:
            text = user_traceback(exc)
        except BaseException:  # e.g. still no memory to import traceback: the short form
            text = "%s: %s\n" % (type(exc).__name__, exc)
        try:
            sys.stderr.write(text)
        except Exception:
            pass
        # Within the host's 64 KiB frame at 6 bytes a character: the traceback's end, which names the error.
        send_frame({"t": "error", "type": type(exc).__name__, "message": str(exc)[:2000],
                    "traceback": text if len(text) <= 8000 else "...\n" + text[-8000:]})
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if req["collect"]:
        collect_files(req["collect"], req["maxFiles"], req["maxFileBytes"])
    exit_now(status)


def exit_now(status):
    """What interpreter shutdown does that a program can see (wait for its non-daemon
    threads, run its atexit handlers, flush stdout and stderr), then _exit. Tearing down
    every module and object as well costs milliseconds, and in a forked jail it touches,
    and so copies, every page inherited from the zygote. The same on every path."""
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except BaseException:
            pass
    try:
        __import__("atexit")._run_exitfuncs()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass
    _b_os._exit(status)


# --- warm jails: load what a run needs before the request comes ---

def warm_up():
    """Runs the request path once on nothing, before the request comes: in a child forked
    from the zygote the first touch of each page of the interpreter faults (copy-on-write
    for the objects whose refcounts change, a mapping for each code page), which costs
    more than the run itself. Leaves nothing the program can see: no hook, no module, no
    file, no output."""
    _b_marshal.loads(_b_marshal.dumps({"code": "", "filename": "", "argv": [], "files": [], "collect": [],
                                       "rlimits": [], "policy": "", "extraPaths": [], "maxFiles": 0, "maxFileBytes": 0}))
    scratch = type(sys)("__warm__")
    scratch.__builtins__ = __builtins__
    exec("x = len(str(1))", scratch.__dict__)
    _b_os.chdir(WORKSPACE)  # where main() goes too: out of the zygote's own tmpfs
    for name in ("RLIMIT_NOFILE", "RLIMIT_FSIZE"):  # to what they are: no change
        which = getattr(_b_resource, name)
        _b_resource.setrlimit(which, _b_resource.getrlimit(which))
    sys.path[:0] = []
    hook = policy_hook()
    hook("open", (WORKSPACE + "/x", "r", 0))
    if _SECCOMP_LOADER[0] is not None:
        _SECCOMP_LOADER[0](b"", PR_GET_SECCOMP)  # the load's whole path, with a query
    hook("import", ("os", None, None, None, None))
    _is_dir(WORKSPACE)
    _b_os.stat(WORKSPACE)
    __import__("atexit")
    for stream in (sys.stdout, sys.stderr):
        stream.write("")
        stream.flush()

# Loaded ahead of time by pooled jails and by the zygote: stateless stdlib modules that
# programs commonly import (nothing that seeds randomness or caches per-process state).
PRELOAD = (
    "linecache", "traceback", "binascii", "glob", "json", "re", "collections", "functools",
    "itertools", "math", "string", "textwrap", "datetime", "dataclasses", "typing", "enum",
    "heapq", "bisect", "operator", "copy", "io", "struct", "base64", "contextlib", "abc",
)


def preload():
    for name in PRELOAD:
        try:
            __import__(name)
        except Exception:
            pass


# --- the fork-server ---
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
#   zygote --unshare(PID)+fork--> R: pid 1 of a new pid namespace; unshares mount, net,
#                                    ipc and uts; mounts a fresh /proc (masked), /dev/pts,
#                                    tmpfs /workspace, /tmp, /dev/shm; brings lo up;
#                                    moves itself into the run's cgroup (a slot: the
#                                    host's open `tasks` files; else it waits on the gate
#                                    until the host has moved it); closes every fd but its
#                                    pipes; unshares the cgroup namespace; drops
#                                    every capability (bounding, ambient, permitted,
#                                    effective, inheritable) and sets no_new_privs; forks G
#                                 G: pid 2; loads the seccomp filter, warms the request
#                                    path up (warm_up), and only then waits for its
#                                    request on fd 3 and runs main() like a cold jail.
#
# R reaps G and exits with G's status (128 + n for signal n, like bwrap's pid 1); when
# pid 1 exits the kernel kills whatever else is left in the namespace, and the zygote's
# waitpid on R returns only once the namespace is empty. The host talks to G through
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
ZYGOTE_ONLY_MODULES = ("ctypes", "_ctypes", "ctypes._endian")


class _Zygote:
    def __init__(self, config):
        import ctypes

        self.ctypes = ctypes
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.config = config
        self.seccomp = config["seccomp"]
        self.devpts_options = f"newinstance,ptmxmode=0666,mode=620,max={int(config['ptys'])}"
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
        self.cap_data[0] = self.cap_data[1] = 0  # R's drop_capabilities: everything
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
        kept until some unix socket on the host is released). A run's I/O goes through
        pipes, so nothing else here would."""
        fd = self.libc.socket(1, 2 | _b_os.O_CLOEXEC, 0)  # AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC
        if fd >= 0:
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
        self.loopback_up()

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
        """G: R has dropped every capability and set no_new_privs before forking it."""
        self.prctl(PR_SET_DUMPABLE, 1)
        c = self.ctypes
        self.check(self.libc.prctl(PR_SET_SECCOMP, c.c_ulong(SECCOMP_MODE_FILTER), c.byref(self.seccomp_prog), c.c_ulong(0), c.c_ulong(0)), "seccomp")

    def spawn(self, workspace_bytes, tmp_bytes, slot):
        """Forks R, which joins cgroup slot `slot` itself (-1: the host moves it in and
        opens the gate). Returns (R's pid, a pipe R closes once its namespaces exist (or
        writes why not), the host's ends: stdin-w, stdout-r, stderr-r, ctrl-in-w,
        ctrl-out-r, gate-w), or None in G. The server loop does not wait on R: a run
        ending meanwhile is reported at once."""
        pipes = [_b_os.pipe() for _ in range(6)]  # stdin, stdout, stderr, ctrl-in, ctrl-out, gate
        child_ends = [pipes[0][0], pipes[1][1], pipes[2][1], pipes[3][0], pipes[4][1], pipes[5][0]]
        host_ends = [pipes[0][1], pipes[1][0], pipes[2][0], pipes[3][1], pipes[4][0], pipes[5][1]]
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
                self.unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
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
            for i in range(6):
                _b_os.dup2(base + i, i)
            joins = self.slots[slot] if slot >= 0 else ()
            for i, fd in enumerate(joins):
                _b_os.dup2(fd, 6 + i)
            _b_os.closerange(6 + len(joins), 1 << 20)  # nothing of the zygote or of other children
            _b_os.setsid()
            self.setup_run(workspace_bytes, tmp_bytes)
            self.prctl(PR_SET_DUMPABLE, 0)
            if slot >= 0:
                # Into the run's cgroup by itself: "0" into each hierarchy's tasks file
                # (the host opened them; a thread moving itself skips the lock a move by
                # pid takes). The host checks it is in before it sends a request.
                for i in range(len(joins)):
                    _b_os.write(6 + i, b"0")
            elif _b_os.read(5, 1) != b"g":
                _b_os._exit(126)  # the host gave up on this child
            _b_os.closerange(5, 1 << 20)  # the gate, and the slot's files
            self.unshare(CLONE_NEWCGROUP)  # G sees its own cgroup as /
            # Nothing privileged is left to do, for R or for G: drop every capability
            # (and set no_new_privs) once, here, and G inherits that.
            self.drop_capabilities()
            # pid 1 keeps no handler G could trigger (_signal: the signal module costs an import)
            _signal.signal(_signal.SIGINT, _signal.SIG_DFL)
            child = _b_os.fork()
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
        except BaseException:
            status = 125
        _b_os._exit(status)

    def enter_g(self):
        try:
            _signal.signal(_signal.SIGINT, _signal.default_int_handler)  # as in any Python
            self.drop_privileges()
        except BaseException as exc:
            try:
                _b_os.write(2, f"pybox zygote: {exc}\n".encode())
            finally:
                _b_os._exit(125)
        # Nothing of the fork-server stays reachable by name from the program.
        for name in ZYGOTE_ONLY_MODULES:
            sys.modules.pop(name, None)
        self.__dict__.clear()  # libc, ctypes buffers, the configuration: all of it


def zygote_main():
    import select

    config = read_request_frame(CTRL_IN)
    z = _Zygote(config)
    preload()
    _SECCOMP_LOADER[0] = seccomp_loader()
    # Everything loaded so far moves to the permanent generation: a child's collections
    # never walk (and so never copy-on-write) the pages it shares with us.
    import gc

    gc.collect()
    gc.freeze()
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
                z.collect_unix_garbage()  # before the exit is reported: the run's result waits on nothing of it
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


def read_request_frame(fd):
    """One length-prefixed marshal frame: [u32 big-endian length][marshal]. A request, or
    the zygote's configuration."""

    def exact(n):
        chunks, got = [], 0
        while got < n:
            chunk = _b_os.read(fd, min(n - got, 1 << 20))
            if not chunk:
                raise SystemExit(70)
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    size = int.from_bytes(exact(4), "big")
    if size > MAX_REQUEST_BYTES:
        raise SystemExit(70)
    return _b_marshal.loads(exact(size))


if sys.argv[1:2] == ["zygote"]:
    if zygote_main() == "run":
        warm_up()
        main(announce=True)
else:
    if sys.argv[1:2] == ["warm"]:
        preload()
        _SECCOMP_LOADER[0] = seccomp_loader()
        warm_up()
    main()
