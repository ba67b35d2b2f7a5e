# Frames to the host on fd 4, the request from it on fd 3. Uses: prelude.

def length_prefixed(payload):
    """[u32 big-endian length][payload]: every frame to the host (lengthPrefixed in protocol.ts)."""
    return len(payload).to_bytes(4, "big") + payload


READY_FRAME = length_prefixed(b'{"t":"ready"}')
# A zygote's child says it is set up and waits (before its request: the host then readies
# its cgroup counters and priority off the request's path). See WARM_FRAME in protocol.ts.
WARM_FRAME = length_prefixed(b'{"t":"warm"}')


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


def read_request_frame(fd):
    """One length-prefixed marshal frame: [u32 big-endian length][marshal]. A request, a
    session's cell, or the zygote's configuration. Read to its length, not to EOF: the
    host's close of the pipe can come a wake-up later than its write."""

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
