# The language-level policy (defence in depth, clear errors). Uses: prelude (_b_os, sys), paths.
# Also run on its own by the attack lab (attacks/harness/lab.py) with paths.py before it.

# ctypes itself imports (pandas and scipy import it at load; loading it opens no library but
# the interpreter's own symbols, `ctypes.dlopen` of None): every use of it is an audit event
# the hook denies (dlopen of a library, dlsym, calls, memory at an address).
DENIED_MODULES = frozenset({
    "_testcapi", "_testinternalcapi", "_testmultiphase",
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
            if event != "ctypes.dlopen" or args[0] is not None:
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


def install_policy():
    sys.addaudithook(policy_hook())
