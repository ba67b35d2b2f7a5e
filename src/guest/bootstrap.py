# pybox guest bootstrap: the first Python that runs inside the jail.
#
# It reads one request from the control pipe (fd 3), lowers its own rlimits
# (hard = soft, so the program cannot raise them), writes the input files into
# /workspace, installs the language-level policy (PEP 578 audit hooks and an
# import policy), runs the user's code as __main__, then reports the uncaught
# exception and the collected files as length-prefixed JSON frames on fd 4.
#
# None of this is the security boundary: the OS jail around us is. The host
# treats every frame as untrusted guest output.
import sys

_b_os = __import__("os")
_b_json = __import__("json")
_b_struct = __import__("struct")
_b_resource = __import__("resource")
_b_stat = __import__("stat")

CTRL_IN, CTRL_OUT = 3, 4
WORKSPACE = "/workspace"
MAX_REQUEST_BYTES = 256 * 1024 * 1024
BOOTSTRAP_FILE = sys._getframe().f_code.co_filename


def read_request():
    chunks, total = [], 0
    while True:
        chunk = _b_os.read(CTRL_IN, 1 << 20)
        if not chunk:
            break
        total += len(chunk)
        if total > MAX_REQUEST_BYTES:
            raise SystemExit(70)
        chunks.append(chunk)
    _b_os.close(CTRL_IN)
    return _b_json.loads(b"".join(chunks))


def send_frame(obj):
    data = _b_json.dumps(obj, ensure_ascii=True).encode()
    try:
        _b_os.write(CTRL_OUT, _b_struct.pack(">I", len(data)))
        view = memoryview(data)
        while view:
            n = _b_os.write(CTRL_OUT, view)
            view = view[n:]
    except OSError:
        pass  # the program closed or replaced fd 4: it only loses its own report


def apply_rlimits(rlimits):
    for name, soft, hard in rlimits:
        _b_resource.setrlimit(getattr(_b_resource, name), (soft, hard))


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
        if not _b_stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
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
    import base64
    import glob

    seen, budget = set(), max_bytes
    for pattern in patterns:
        matches = sorted(glob.glob(pattern, root_dir=WORKSPACE, recursive=True))
        for rel in matches:
            rel = _b_os.path.normpath(rel)
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
            send_frame({"t": "file", "path": rel, "data": base64.b64encode(data).decode()})


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
PROCESS_EVENTS = frozenset({
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "os.startfile", "pty.spawn", "os.forkpty",
})
NETWORK_EVENTS = frozenset({
    "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
    "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyaddr",
    "socket.gethostname", "socket.sethostname", "socket.getnameinfo",
})


def install_policy():
    os_fspath, realpath = _b_os.fspath, _b_os.path.realpath
    AF_UNIX = 1

    def deny(what):
        raise PermissionError(f"pybox: {what} is not allowed")

    def writable(path):
        if isinstance(path, int):
            return True
        try:
            p = os_fspath(path)
            if isinstance(p, bytes):
                p = p.decode("utf-8", "surrogateescape")
            p = realpath(p)
        except Exception:
            return False
        return any(p == root or p.startswith(root + "/") for root in WRITABLE_ROOTS)

    def hook(event, args):
        if event == "open":
            path, mode, flags = args
            wants_write = (isinstance(flags, int) and flags & WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+"))
            if wants_write and path is not None and not writable(path):
                deny(f"writing {path!r} (outside /workspace and /tmp)")
        elif event in PATH_WRITE_EVENTS:
            for arg in args[:2]:
                if isinstance(arg, (str, bytes)) or hasattr(arg, "__fspath__"):
                    if not writable(arg):
                        deny(f"{event} on {arg!r} (outside /workspace and /tmp)")
        elif event in PROCESS_EVENTS:
            deny(f"starting a program ({event})")
        elif event.startswith("ctypes."):
            deny(f"ctypes ({event})")
        elif event == "import":
            name = args[0]
            if isinstance(name, str) and name.partition(".")[0] in DENIED_MODULES:
                deny(f"import of {name}")
        elif event == "socket.__new__":
            family = args[1]
            if family != AF_UNIX and family != -1:
                deny("network access")
        elif event in NETWORK_EVENTS:
            deny(f"network access ({event})")

    sys.addaudithook(hook)


# --- running the user's code ---

def user_traceback(exc):
    """The traceback without the bootstrap's frames (its runner and its audit hook)."""
    import traceback

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


def run_user_code(source, filename):
    import linecache
    import types

    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    main = types.ModuleType("__main__")
    main.__file__ = filename
    main.__builtins__ = __builtins__
    sys.modules["__main__"] = main
    code = compile(source, filename, "exec", dont_inherit=True)
    exec(code, main.__dict__)


def exit_code_of(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


def main():
    _b_os.closerange(CTRL_OUT + 1, 1 << 20)  # nothing but our pipes crosses into the program
    req = read_request()
    send_frame({"t": "ready"})  # the jail came up: from here on, a failure is the program's
    apply_rlimits(req["rlimits"])
    for rel, data_b64 in req["files"]:
        write_input_file(rel, __import__("base64").b64decode(data_b64))
    _b_os.chdir(WORKSPACE)
    filename = req["filename"]
    sys.argv = [filename] + list(req["argv"])
    sys.path[:0] = [WORKSPACE]
    sys.path.extend(p for p in req["extraPaths"] if _b_os.path.isdir(p))
    if req["policy"] == "strict":
        install_policy()

    status = 0
    try:
        run_user_code(req["code"], filename)
    except SystemExit as exc:
        status = exit_code_of(exc)
        if status != 0:
            send_frame({"t": "error", "type": "SystemExit", "message": str(exc.code), "traceback": ""})
    except BaseException as exc:  # noqa: BLE001 - every escape of the user's code is reported
        status = 1
        text = user_traceback(exc)
        try:
            sys.stderr.write(text)
        except Exception:
            pass
        send_frame({"t": "error", "type": type(exc).__name__, "message": str(exc)[:4096], "traceback": text})
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    if req["collect"]:
        collect_files(req["collect"], req["maxFiles"], req["maxFileBytes"])
    sys.exit(status)


main()
