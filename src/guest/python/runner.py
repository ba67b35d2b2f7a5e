# Running the user's code. Uses: prelude, framing.

# Names every program finds in its __main__ (a run's, or a session's): its host functions.
MAIN_GLOBALS = {}

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
    main.__dict__.update(MAIN_GLOBALS)
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


def report_exception(exc):
    """The exception on stderr, as Python prints it, and as an error frame for the host."""
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


def flush_std():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


def exit_code_of(exc):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


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
    try:
        flush_std()
    except BaseException:
        pass
    _b_os._exit(status)
