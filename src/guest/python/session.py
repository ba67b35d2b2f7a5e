# A session: one interpreter that runs cells, one at a time, for as long as the host
# keeps it. Uses: prelude, framing, rlimits, runner, pybox_module.
#
# After main()'s set-up (rlimits, files, policy) the control pipes stay open. The host
# sends marshal frames on fd 3:
#   {t: cell, n, code, cpuSeconds[, drain]}  run a cell in the session's __main__
#   {t: line, seq, text, echo}      the answer to input request seq (text None: end of input)
# and the guest answers on fd 4 with JSON frames:
#   {t: started, n}                 (a cell with drain only) the SIGINTs meant for the cell before are gone
#   {t: input, seq, prompt}         input() or sys.stdin wants a line
#   {t: error, ...}                 the cell raised (as for a run), then
#   {t: done, n, value}             the cell is over; value: repr of its last expression, or None
# The host interrupts a cell with SIGINT (KeyboardInterrupt). Outside a cell SIGINT is
# blocked, so a late one never lands in the loop below. One the host sent as cell N ended
# (after the cell blocked SIGINT, before the host read its done) stays pending: the host
# knows it sent one, so cell N+1 comes with drain; with SIGINT still blocked the guest takes
# every pending SIGINT (all of cell N's were sent before the host wrote cell N+1), answers
# started, and only then does the host send cell N+1's own. A cell after one the host did
# not interrupt pays nothing.
# A SystemExit ends the session, as it ends Python's console. A one-shot run whose caller
# answers input() itself uses the same input requests (install_host_input).

MAX_VALUE_CHARS = 10000
MAX_PROMPT_CHARS = 4096
_SIGINT_SET = {_signal.SIGINT}
_INPUT_SEQ = [0]


def _read_host_frame():
    """The next frame on fd 3, read whole with SIGINT blocked (a frame cut by a
    KeyboardInterrupt would leave the pipe out of step); the wait before it is
    interruptible. Returns the frame dict."""
    poller = __import__("select").poll()
    poller.register(CTRL_IN, 1)  # POLLIN
    poller.poll()
    old = _signal.pthread_sigmask(_signal.SIG_BLOCK, _SIGINT_SET)
    try:
        frame = read_request_frame(CTRL_IN)
    finally:
        _signal.pthread_sigmask(_signal.SIG_SETMASK, old)
    if frame.get("t") == "ret":
        host_answer_seen(frame)  # (host_calls.py) an interrupted call's answer
    return frame


def ask_host_for_line(prompt):
    """A line for input()/sys.stdin from the host (onInput, else the cell's stdin), or None at the end."""
    flush_std()
    _INPUT_SEQ[0] += 1
    seq = _INPUT_SEQ[0]
    send_frame({"t": "input", "seq": seq, "prompt": str(prompt)[:MAX_PROMPT_CHARS]})
    while True:
        frame = _read_host_frame()
        if frame.get("t") == "line" and frame.get("seq") == seq:
            break  # (an answer to an earlier, interrupted request is dropped)
    text = frame.get("text")
    if frame.get("echo") and prompt:
        sys.stdout.write(str(prompt))  # answered from stdin: shown as Python shows it for piped input
    return text


def _session_input(prompt=""):
    line = ask_host_for_line(prompt)
    if line is None:
        raise EOFError("EOF when reading a line")
    return line[:-1] if line.endswith("\n") else line


def _host_stdin_class():
    io = __import__("io")

    class HostStdin(io.TextIOBase):
        """sys.stdin of a session: each line comes from the host when it is read."""

        encoding, errors, newlines = "utf-8", "strict", None

        def __init__(self):
            self._rest, self._eof = "", False

        def readable(self):
            return True

        def isatty(self):
            return False

        def _more(self):
            if self._eof:
                return False
            line = ask_host_for_line("")
            if line is None:
                self._eof = True
                return False
            self._rest += line if line.endswith("\n") else line + "\n"
            return True

        def readline(self, size=-1):
            while "\n" not in self._rest and self._more():
                pass
            end = self._rest.find("\n") + 1 or len(self._rest)
            if size is not None and size >= 0:
                end = min(end, size)
            line, self._rest = self._rest[:end], self._rest[end:]
            return line

        def read(self, size=-1):
            while (size is None or size < 0 or len(self._rest) < size) and self._more():
                pass
            end = len(self._rest) if size is None or size < 0 else size
            data, self._rest = self._rest[:end], self._rest[end:]
            return data

    return HostStdin


# A last line that can only end an assignment: at column 0, `name[.attr]... [op]= ...` with
# nothing that could open or close a bracket, a string, a comment, a line (`;`, `\\`, CR) or a
# walrus. The code is then compiled as it is (~8 us), not through the ast (~26 us): a
# bracket or string left open before it would never close (a SyntaxError either way), and a
# line continued into it cannot end an expression statement. Anything else takes the ast.
_ASSIGNMENT_LAST_LINE = [None]
_ASSIGNMENT_RE = r"[A-Za-z_][\w.]*[ \t]*(?:[-+*/%&|^@]|//|\*\*|<<|>>)?=(?!=)[\w \t.+\-*/%<>=!~&|^,]*"


def _last_expression(code, filename):
    """(statements, last expression or None), compiled; the REPL's rule: a cell that ends
    with an expression statement shows that expression's value."""
    ast = __import__("ast")
    try:
        if _ASSIGNMENT_LAST_LINE[0](code.rstrip().rpartition("\n")[2]):
            return compile(code, filename, "exec"), None
        tree = ast.parse(code, filename, "exec")
    except SyntaxError as exc:
        exc.__traceback__ = None  # the console shows the error alone, not the parser's frames
        raise exc from None
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = compile(ast.Expression(tree.body.pop().value), filename, "eval")
    return compile(tree, filename, "exec"), last


def run_cell(main_module, cell):
    """Runs one cell; returns (value text or None, the exception it raised or None)."""
    n = cell["n"]
    filename = "<cell %d>" % n
    code = cell["code"]
    register_source(code, filename)
    _set_cpu_rlimit(cell["cpuSeconds"])
    start_display(cell.get("displayBytes", 0))
    value = None
    try:
        try:
            _signal.signal(_signal.SIGINT, _CELL_HANDLER[0])
            _signal.pthread_sigmask(_signal.SIG_UNBLOCK, _SIGINT_SET)
            if _SIGINT_BETWEEN_CELLS[0]:  # sent for this cell (a stale one went with drain), taken by another thread
                _SIGINT_BETWEEN_CELLS[0] = False
                _signal.raise_signal(_signal.SIGINT)
            body, last = _last_expression(code, filename)
            exec(body, main_module.__dict__)
            if last is not None:
                result = eval(last, main_module.__dict__)
                if result is not None:
                    sys.modules["builtins"]._ = result  # as the console keeps it
                    text = repr(result)
                    value = text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "..."
                    emit_value(result)
        finally:
            _signal.pthread_sigmask(_signal.SIG_BLOCK, _SIGINT_SET)
            # The program's own handler (None: one set from C) is kept for its next cell.
            _CELL_HANDLER[0] = _signal.signal(_signal.SIGINT, _note_sigint) or _signal.default_int_handler
    except SystemExit:
        raise
    except BaseException as exc:  # noqa: BLE001 - every escape of a cell is reported
        return None, exc
    return value, None


def _set_cpu_rlimit(seconds):
    """RLIMIT_CPU's soft limit for this cell, on top of what the session used before
    (a backstop: the host counts each cell's CPU and ends the session at its budget)."""
    soft = _cpu_seconds_used() + seconds
    if soft == _CPU_SOFT[0]:
        return  # as the cell before set it (whole seconds: most cells); a program that raised its own soft limit is still held by the hard one and the host's count
    which = _b_resource.RLIMIT_CPU
    hard = _b_resource.getrlimit(which)[1]
    _b_resource.setrlimit(which, (soft if hard < 0 or soft < hard else hard, hard))
    _CPU_SOFT[0] = soft


_CPU_SOFT = [None]


def _drop_pending_sigint(n):
    """An interrupt that came after its cell was over is meant for nothing; the host
    holds cell n's own until it reads started."""
    while _signal.sigtimedwait(_SIGINT_SET, 0) is not None:
        pass
    _SIGINT_BETWEEN_CELLS[0] = False
    send_frame(length_prefixed(b'{"t":"started","n":%d}' % n))


# Between cells Python's SIGINT handler only notes the signal. The main thread blocks
# SIGINT there, but a thread a C library started during a cell does not, and the kernel
# gives the signal to it: Python then runs the handler in the main thread, in the loop
# below. A stale one is forgotten with drain; any other was sent for the next cell.
_SIGINT_BETWEEN_CELLS = [False]
_CELL_HANDLER = [_signal.default_int_handler]


def _note_sigint(signum, frame):
    _SIGINT_BETWEEN_CELLS[0] = True


def _threads_without_sigint():
    """Threads the program starts block SIGINT (they inherit the mask they are started
    with): only the main thread runs Python's handler, and a SIGINT that found another
    thread with it unblocked while the main thread blocks it (between cells) would raise
    KeyboardInterrupt in the session's own loop instead of staying pending for the drain.
    (Threads a C library starts during a cell are covered by _note_sigint.)"""
    _thread = __import__("_thread")
    start = _thread.start_new_thread

    def start_new_thread(function, args, kwargs=None):
        old = _signal.pthread_sigmask(_signal.SIG_BLOCK, _SIGINT_SET)
        try:
            return start(function, args) if kwargs is None else start(function, args, kwargs)
        finally:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, old)

    _thread.start_new_thread = _thread.start_new = start_new_thread
    threading = sys.modules.get("threading")
    if threading is not None and getattr(threading, "_start_new_thread", None) is start:
        threading._start_new_thread = start_new_thread


def install_host_input():
    """input() and sys.stdin ask the host for each line."""
    sys.modules["builtins"].input = _session_input
    sys.stdin = sys.__stdin__ = _host_stdin_class()()


def session_main(filename):
    _signal.pthread_sigmask(_signal.SIG_BLOCK, _SIGINT_SET)
    _signal.signal(_signal.SIGINT, _note_sigint)
    main_module = type(sys)("__main__")
    main_module.__file__ = filename
    main_module.__builtins__ = __builtins__
    main_module.__dict__.update(MAIN_GLOBALS)
    sys.modules["__main__"] = main_module
    install_host_input()
    _threads_without_sigint()
    for name in ("ast", "linecache", "select"):  # loaded now: the first cell does not pay for them
        __import__(name)
    _ASSIGNMENT_LAST_LINE[0] = __import__("re").compile(_ASSIGNMENT_RE).fullmatch
    status = 0
    while True:
        frame = _read_host_frame()
        if frame.get("t") != "cell":
            continue  # a late answer to an input request of an interrupted cell
        if frame.get("drain"):
            _drop_pending_sigint(frame["n"])
        try:
            value, exc = run_cell(main_module, frame)
        except SystemExit as stop:
            status = exit_code_of(stop)
            if status != 0:
                send_frame({"t": "error", "type": "SystemExit", "message": str(stop.code)[:2000], "traceback": ""})
            break
        if exc is not None:
            report_exception(exc)  # the session's state stays: no release_user_memory
        if not isinstance(exc, MemoryError):
            show_open_figures()
        flush_std()
        send_frame({"t": "done", "n": frame["n"], "value": value} if value is not None else length_prefixed(b'{"t":"done","n":%d,"value":null}' % frame["n"]))
    exit_now(status)
