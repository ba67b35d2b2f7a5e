# The `pybox` module programs import (`from pybox import display, host, HostError`). Uses: prelude, framing, runner.
#
# One module object, made here and put in sys.modules: no file, no import cost. Each part
# of it lives in its own section below and adds its names to PYBOX.

PYBOX = type(sys)("pybox")
PYBOX.__doc__ = "What the pybox sandbox gives the program it runs."
PYBOX.__all__ = []
sys.modules["pybox"] = PYBOX


# ---- rich output: display(), figures, a session value's bundle ----------------------
#
# A bundle goes to the host as the frame {t:"display", size, at[, value]} followed by its
# `size` bytes of UTF-8 JSON {data, metadata?} (src/guest/display-frames.ts). `at` is how
# many bytes went through sys.stdout before it (counted by the raw file under it), so the
# host can place it in the program's output. size 0: dropped here, over the run's budget.

MAX_OUTPUTS = 10000  # MAX_OUTPUTS in src/core/outputs.ts
# [budget bytes, bytes used, outputs sent] of this run or cell
_DISPLAY = [0, 0, 0]
# [our sys.stdout, the counting raw file under it]
_STDOUT = [None, None]
_MIME_METHODS = (
    ("text/html", "_repr_html_"),
    ("text/markdown", "_repr_markdown_"),
    ("image/svg+xml", "_repr_svg_"),
    ("image/png", "_repr_png_"),
    ("image/jpeg", "_repr_jpeg_"),
    ("application/json", "_repr_json_"),
    ("text/latex", "_repr_latex_"),
)
_BINARY_MIME = ("image/png", "image/jpeg", "image/gif", "application/pdf")


class _CountingStdout(__import__("_io").FileIO):
    """fd 1 under sys.stdout: counts the bytes written through it. Made once, in the
    bootstrap (a zygote's children share it)."""

    written = 0

    def write(self, b):
        n = _io_FileIO_write(self, b)
        if n:
            self.written += n
        return n


_io_FileIO_write = __import__("_io").FileIO.write


def count_stdout():
    """sys.stdout made anew over a _CountingStdout (as Python made it: same encoding, errors
    and buffering)."""
    _io = __import__("_io")
    old = sys.stdout
    try:
        old.flush()
    except Exception:
        pass
    raw = _CountingStdout(1, "w", closefd=False)
    new = _io.TextIOWrapper(_io.BufferedWriter(raw), encoding=old.encoding, errors=old.errors,
                            line_buffering=old.line_buffering, write_through=old.write_through)
    _STDOUT[:] = [new, raw]
    sys.stdout = sys.__stdout__ = new


def start_display(budget):
    """A new run or cell: a new budget, stdout counted from here."""
    _DISPLAY[:] = [budget, 0, 0]
    if _STDOUT[1] is not None:
        try:
            _STDOUT[0].flush()
        except Exception:
            pass
        _STDOUT[1].written = 0


def _stdout_at():
    out, raw = _STDOUT
    if out is None:
        return 0
    try:
        out.flush()  # what the program printed before goes first
    except Exception:
        pass
    return raw.written


def _repr_method(obj, name):
    """obj's formatter, looked up as IPython does: on the type (an object that answers
    any attribute, a proxy or a mock, has none), and never on a class itself."""
    if isinstance(obj, type) or getattr(type(obj), name, None) is None:
        return None
    try:
        return getattr(obj, name)
    except Exception:
        return None


def _as_text(mime, value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        if mime in _BINARY_MIME:
            return __import__("base64").b64encode(bytes(value)).decode("ascii")
        return bytes(value).decode("utf-8", "replace")
    if (mime == "application/json" or mime.endswith("+json")) and not isinstance(value, str):
        return __import__("json").dumps(value, default=repr)
    return value if isinstance(value, str) else str(value)


def _figure_png(fig):
    buf = __import__("io").BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _is_figure(obj):
    figure = sys.modules.get("matplotlib.figure")
    return figure is not None and isinstance(obj, figure.Figure)


def mime_bundle(obj, include=None, exclude=None):
    """(data, metadata) of obj by the IPython protocol. A formatter that raises or returns
    None is skipped (IPython prints the failure; the output here goes on without it), and
    text/plain, the repr, is always there."""
    data, metadata = {}, {}

    def put(mime, value, md=None):
        if value is None or mime in data or not isinstance(mime, str):
            return
        data[mime] = _as_text(mime, value)
        if md:
            metadata[mime] = md

    method = _repr_method(obj, "_repr_mimebundle_")
    if method is not None:
        try:
            answer = method(include=include, exclude=exclude)
        except Exception:
            answer = None
        md = None
        if isinstance(answer, tuple) and len(answer) == 2:
            answer, md = answer
        if isinstance(answer, dict):
            for mime, value in answer.items():
                put(mime, value)
        if isinstance(md, dict):
            metadata.update(md)
    for mime, name in _MIME_METHODS:
        if mime in data:
            continue
        method = _repr_method(obj, name)
        if method is None:
            continue
        try:
            answer = method()
        except Exception:
            continue
        md = None
        if isinstance(answer, tuple) and len(answer) == 2:
            answer, md = answer
        put(mime, answer, md)
    if _is_figure(obj) and "image/png" not in data:
        try:
            put("image/png", _figure_png(obj))
        except Exception:
            pass
    if "text/plain" not in data:
        try:
            data["text/plain"] = repr(obj)
        except Exception:
            data["text/plain"] = object.__repr__(obj)
    if include is not None:
        data = {k: v for k, v in data.items() if k in include}
    if exclude is not None:
        data = {k: v for k, v in data.items() if k not in exclude}
    return data, {k: v for k, v in metadata.items() if k in data or "/" not in k}


def send_bundle(data, metadata=None, value=False):
    """One bundle to the host, within the run's budget (what does not fit is dropped, and
    the host told so)."""
    if not data:
        return
    at = _stdout_at()
    body = {"data": data}
    if metadata:
        body["metadata"] = metadata
    try:
        raw = __import__("json").dumps(body, ensure_ascii=False, default=repr).encode("utf-8", "replace")
    except Exception:
        raw = b""
    budget, used, count = _DISPLAY
    header = {"t": "display", "size": len(raw), "at": at}
    if value:
        header["value"] = True
    if not raw or used + len(raw) > budget or (count >= MAX_OUTPUTS and not value):
        header["size"], raw = 0, b""
    else:
        _DISPLAY[1] += len(raw)
        _DISPLAY[2] += 0 if value else 1
    send_frame(header, raw)


def display(*objs, include=None, exclude=None, metadata=None, raw=False):
    """Shows each object as a rich output (IPython's display): with raw=True each is a
    MIME bundle already ({mime: content})."""
    for obj in objs:
        if raw:
            data, md = {str(k): _as_text(str(k), v) for k, v in dict(obj).items()}, {}
        else:
            data, md = mime_bundle(obj, include, exclude)
        if metadata:
            md = dict(md, **metadata)
        send_bundle(data, md)


def show_figures(*args, **kwargs):
    """plt.show(): each open figure as an image/png output, now, then closed."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    for num in plt.get_fignums():
        fig = plt.figure(num)
        try:
            send_bundle({"image/png": _as_text("image/png", _figure_png(fig)), "text/plain": repr(fig)})
        except Exception as exc:
            try:
                sys.stderr.write("pybox: figure %s could not be drawn: %s: %s\n" % (num, type(exc).__name__, exc))
            except Exception:
                pass
        plt.close(fig)


def show_open_figures():
    """At the end of a run or cell: the figures still open, as a notebook shows them."""
    try:
        show_figures()
    except BaseException:
        pass  # the program broke pyplot's state: its figures are its own loss


def _patch_pyplot(module):
    module.show = show_figures


class _PyplotHook:
    """A meta path entry that answers nothing itself: once matplotlib.pyplot is loaded (by
    the normal finders) its show() becomes show_figures."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "matplotlib.pyplot":
            return None
        for finder in sys.meta_path:
            if finder is _PyplotHook:
                continue
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find else None
            if spec is None:
                continue
            loader_exec = getattr(spec.loader, "exec_module", None)
            if loader_exec is not None:

                def exec_module(module):
                    loader_exec(module)
                    _patch_pyplot(module)

                spec.loader.exec_module = exec_module  # this spec's own loader object
            return spec
        return None


def hook_pyplot():
    if "matplotlib.pyplot" in sys.modules:
        _patch_pyplot(sys.modules["matplotlib.pyplot"])
    elif _PyplotHook not in sys.meta_path:
        sys.meta_path.insert(0, _PyplotHook)


def emit_value(value):
    """A session cell's last expression: its bundle besides its repr (a frame only when there is more)."""
    data, md = mime_bundle(value)
    data.pop("text/plain", None)
    if data:
        send_bundle(data, md, value=True)


def warm_figures():
    """Draws and encodes one small figure when matplotlib.pyplot is loaded ahead (a zygote's
    preload): the renderer, its fonts and the PNG encoder are then loaded and shared by
    every child, and the first figure of a run costs what any later one does."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    fig = plt.figure(figsize=(1, 1))
    try:
        fig.gca().plot([0, 1], [0, 1])
        fig.gca().set_title("x")
        _figure_png(fig)
    finally:
        plt.close(fig)


PYBOX.display = display
PYBOX.__all__.append("display")
sys.modules["builtins"].display = display
hook_pyplot()

# ---- end of rich output --------------------------------------------------------------
