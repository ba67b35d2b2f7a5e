# ---- host functions --------------------------------------------------------------------
# Functions the caller registered, callable by name: `add(2, 3)` in __main__, or
# `pybox.host.add(2, 3)`. Uses: prelude, framing, runner (MAIN_GLOBALS), session
# (_read_host_frame), pybox_module.
#
# A call is a frame on fd 4 whose length has CALL_FLAG set (src/guest/host-call-frames.ts):
#   [u32 0x80000000 | n][JSON {"t":"call","id":…,"name":…,"args":[…]}]
# and the host answers on fd 3: {t: ret, id, ok, value (JSON text) | error}. One call is in
# flight at a time (the lock): the host ends a run that sends another before the answer.
# A call cut by KeyboardInterrupt (a session's interrupt) leaves its answer owed: the next
# call, or the session's loop, reads it first.

CALL_FLAG = 0x80000000
MAX_JSON_DEPTH = 100  # MAX_JSON_DEPTH in src/core/host-functions.ts
_MAX_SAFE_INT = (1 << 53) - 1  # JavaScript's Number.MAX_SAFE_INTEGER
_INF = float("inf")
# [next id, id of the answer owed or None, hostCallBytes, the lock, json.loads, encode,
#  a session (SIGINT may come: frames are read and written with it blocked),
#  fd 3 carries host-call answers only (no host input), bytes read past the last answer]
_HOST = [0, None, 0, None, None, None, False, False, b""]


class HostError(Exception):
    """A host function failed: it threw or rejected (its message), timed out, or a host-call
    limit was reached."""


HostError.__module__ = "pybox"


def _json_problem(value, depth):
    """Why value is not a JSON value the host takes (None when it is)."""
    t = type(value)
    if value is None or t is bool or t is str:
        return None
    if t is int:
        return None if -_MAX_SAFE_INT <= value <= _MAX_SAFE_INT else "an int beyond 2**53 - 1 (JavaScript would round it)"
    if t is float:
        return None if value == value and value not in (_INF, -_INF) else "%r (not a finite number)" % value
    if t is list or t is tuple or t is dict:
        if depth >= MAX_JSON_DEPTH:
            return "lists and dicts nested deeper than %d" % MAX_JSON_DEPTH
        if t is dict:
            for k, v in value.items():
                if type(k) is not str:
                    return "a dict key of type %s (keys must be str)" % type(k).__name__
                p = _json_problem(v, depth + 1)
                if p:
                    return p
            return None
        for v in value:
            p = _json_problem(v, depth + 1)
            if p:
                return p
        return None
    return "a value of type %s" % t.__name__


def _encode_args(name, args):
    problem = _json_problem(args, 0)
    if problem is not None:
        raise TypeError("%s(): host function arguments must be JSON values (None, bool, int, float, str, list, dict with str keys); got %s" % (name, problem))
    text = _HOST[5](args)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: sent escaped, as JSON allows
        data = __import__("json").dumps(args, separators=(",", ":")).encode("ascii")
    if len(data) > _HOST[2]:
        raise HostError("%s(): its arguments are %d bytes of JSON; the limit (hostCallBytes) is %d" % (name, len(data), _HOST[2]))
    return data


def _await_answer(call_id):
    """Reads fd 3 up to the answer to call_id (what else comes: a late answer of an
    interrupted input request, dropped). A run has no interrupts: it reads the frame as is."""
    read = _read_host_frame if _HOST[6] else _read_ctrl_frame if _HOST[7] else _read_request
    while True:
        frame = read()
        if frame.get("t") == "ret" and frame.get("id") == call_id:
            return frame


def _read_request():
    return read_request_frame(CTRL_IN)


def _read_ctrl_frame():
    """One answer, in as few reads as it takes (most often one). Only for a run without
    host input: nothing but answers comes on fd 3 then. What a read takes past the frame
    (an answer to a call the program forged itself) waits for the next."""
    data = _HOST[8] or _b_os.read(CTRL_IN, 1 << 16)
    while True:
        if len(data) >= 4:
            end = 4 + int.from_bytes(data[:4], "big")
            if len(data) >= end:
                _HOST[8] = data[end:]
                return _b_marshal.loads(data[4:end])
        more = _b_os.read(CTRL_IN, 1 << 16)
        if not more:
            raise SystemExit(70)
        data += more


def host_answer_seen(frame):
    """The session's loop read an answer: the owed one is no longer owed."""
    if frame.get("id") == _HOST[1]:
        _HOST[1] = None


def call_host(name, args):
    data = _encode_args(name, args)
    with _HOST[3]:
        if _HOST[1] is not None:  # the answer to an interrupted call comes first
            _await_answer(_HOST[1])
            _HOST[1] = None
        _HOST[0] += 1
        call_id = _HOST[0]
        payload = b'{"t":"call","id":%d,"name":"%s","args":%s}' % (call_id, name.encode("ascii"), data)
        _HOST[1] = call_id
        # Whole or not at all: a KeyboardInterrupt (a session's interrupt) must not cut it.
        old = _signal.pthread_sigmask(_signal.SIG_BLOCK, _SIGINT_SET) if _HOST[6] else None
        try:
            write_all(CTRL_OUT, (len(payload) | CALL_FLAG).to_bytes(4, "big") + payload)
        except OSError:
            _HOST[1] = None
            raise HostError("%s(): the host is not taking calls" % name) from None
        finally:
            if old is not None:
                _signal.pthread_sigmask(_signal.SIG_SETMASK, old)
        frame = _await_answer(call_id)
        _HOST[1] = None
    if frame.get("ok"):
        return _HOST[4](frame["value"])
    raise HostError(str(frame.get("error")))


def _host_function(name):
    def call(*args):
        return call_host(name, args)

    call.__name__ = call.__qualname__ = name
    call.__module__ = "pybox.host"
    call.__doc__ = "Host function %s: JSON values in, a JSON value out (pybox.HostError if it fails)." % name
    return call


def install_host_functions(names, max_bytes, session, host_input):
    """The request's functions, in __main__ and in pybox.host (empty without any)."""
    host = type(sys)("pybox.host")
    host.__doc__ = "The host functions this program may call."
    if names:  # json only then: a run without host functions does not pay its import
        json = __import__("json")
        _HOST[2] = max_bytes
        _HOST[3] = __import__("_thread").allocate_lock()
        _HOST[4] = json.loads
        # made once: json.dumps builds an encoder for each call with other than its defaults
        _HOST[5] = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode
        _HOST[6] = bool(session)
        _HOST[7] = not (session or host_input)
    for name in names:
        fn = _host_function(name)
        setattr(host, name, fn)
        MAIN_GLOBALS[name] = fn
    PYBOX.host = host
    if "host" not in PYBOX.__all__:
        PYBOX.__all__.append("host")
    sys.modules["pybox.host"] = host


PYBOX.HostError = HostError
PYBOX.__all__.append("HostError")
# ---- end of host functions -------------------------------------------------------------
