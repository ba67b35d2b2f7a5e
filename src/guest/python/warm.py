# Warm jails: load what a run needs before the request comes. Uses: every module above.

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
    warm_figures()
