# Workspace files, walked one component at a time with O_NOFOLLOW. Uses: framing, paths.

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
