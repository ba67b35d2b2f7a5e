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
    # A session's loop (session.py) parses each cell with ast and waits for it with select:
    # loaded here, a session opened from a warm jail does not import them first.
    "ast", "select",
)


def preload():
    for name in PRELOAD:
        try:
            __import__(name)
        except Exception:
            pass


def import_preload(names, site_paths):
    """The Sandbox's own preload (SandboxOptions.preload), in order, with the interpreter's
    site paths on sys.path for the while (a run adds them itself, after its workspace).
    What the imports (or what they start: matplotlib runs fc-list) print goes nowhere, on
    every path alike: none of it is a run's output."""
    if all(name in sys.modules for name in names):
        return  # a run of a zygote's or pooled jail's: loaded already
    saved = sys.path[:]
    sys.path.extend(p for p in site_paths if _is_dir(p))
    declare_namespace_packages(site_paths)
    null = _b_os.open("/dev/null", _b_os.O_WRONLY | _b_os.O_CLOEXEC)
    kept = [_b_os.dup(1), _b_os.dup(2)]
    try:
        _b_os.dup2(null, 1)
        _b_os.dup2(null, 2)
        for name in names:
            __import__(name)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a stream the import closed or broke
                pass
        _b_os.dup2(kept[0], 1)
        _b_os.dup2(kept[1], 2)
        for fd in (*kept, null):
            _b_os.close(fd)
        sys.path[:] = saved


def declare_namespace_packages(site_paths):
    """What `site` does with a setuptools *-nspkg.pth (python3 -S skips it): the namespace
    package it names (matplotlib's mpl_toolkits) becomes a module over its directory whose
    __init__.py never runs. Run, Debian's __init__.py imports pkg_resources to declare the
    namespace, which scans every installed distribution: ~6 MiB and ~0.3 s that a bare
    python3 never spends, held by a zygote and every child it forks. Only the literal name
    tuple of each line is read; nothing of the file is executed."""
    import ast
    from importlib.machinery import PathFinder
    from importlib.util import module_from_spec

    for site in site_paths:
        try:
            pths = [n for n in _b_os.listdir(site) if n.endswith("-nspkg.pth")]
        except OSError:
            continue
        for pth in sorted(pths):
            try:
                with open(site + "/" + pth, encoding="utf-8", errors="replace") as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            for line in lines:
                start = line.find("*(")
                try:
                    parts = ast.literal_eval(line[start + 1:line.index(")", start) + 1]) if start >= 0 else ()
                except (ValueError, SyntaxError):
                    continue
                if not (isinstance(parts, tuple) and parts and all(isinstance(p, str) and p.isidentifier() for p in parts)):
                    continue
                name, path = ".".join(parts), site + "/" + "/".join(parts)
                spec = PathFinder.find_spec(name, [path.rsplit("/", 1)[0]])
                module = sys.modules.setdefault(name, module_from_spec(spec) if spec else type(sys)(name))
                search = module.__dict__.setdefault("__path__", [])
                if path not in search:
                    search.append(path)
                parent = sys.modules.get(".".join(parts[:-1]))
                if parent is not None:
                    setattr(parent, parts[-1], module)


def warm_preloaded():
    """After a preload, in the zygote or a pooled jail: matplotlib's Agg renderer and its
    fonts drawn once, on a Figure of its own (never pyplot's: no figure is left open for a
    run, and figure numbers start at 1)."""
    if "matplotlib" not in sys.modules:
        return
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure()
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot([0, 1], [0, 1])
    ax.set_title("pybox")
    canvas.draw()
    fig.clear()
    # pyplot's figure and the PNG encoder too (rich output's capture path).
    warm_figures()


def reseed_preloaded():
    """In each child of a zygote: numpy's global random state is a copy of the zygote's,
    the same in every run; a fresh seed from the kernel (Python's random reseeds itself at
    fork)."""
    np_random = sys.modules.get("numpy.random")
    if np_random is not None:
        np_random.seed()
