# Paths on posix calls alone. Uses: prelude.

S_IFMT, S_IFDIR, S_IFREG, S_IFLNK = 0o170000, 0o040000, 0o100000, 0o120000
_normpath = _b_os._path_normpath  # posixpath.normpath's own C implementation


def _is_dir(path):
    try:
        return (_b_os.stat(path).st_mode & S_IFMT) == S_IFDIR
    except (OSError, ValueError):
        return False


def _exists(path):
    try:
        _b_os.stat(path)
        return True
    except (OSError, ValueError):
        return False


def _realpath(path):
    """posixpath.realpath (not strict) for a str path: symlinks resolved one component at
    a time, a missing component taken as it is, a symlink loop left unresolved."""
    if not path.startswith("/"):
        path = _b_os.getcwd() + "/" + path
    return _normpath(_join_real("/", path, {})[0])


def _join_real(path, rest, seen):
    # posixpath._joinrealpath for an absolute `path`, which never holds "." or "..".
    if rest.startswith("/"):
        rest, path = rest[1:], "/"
    while rest:
        name, _, rest = rest.partition("/")
        if not name or name == ".":
            continue
        if name == "..":
            path = path[:path.rfind("/")] or "/"
            continue
        newpath = path + name if path == "/" else path + "/" + name
        try:
            is_link = (_b_os.lstat(newpath).st_mode & S_IFMT) == S_IFLNK
        except (OSError, ValueError):
            is_link = False
        if not is_link:
            path = newpath
            continue
        if newpath in seen:
            path = seen[newpath]
            if path is not None:
                continue  # resolved before
            return newpath + "/" + rest, False  # a loop
        seen[newpath] = None
        path, ok = _join_real(path, _b_os.readlink(newpath), seen)
        if not ok:
            return path + "/" + rest, False
        seen[newpath] = path
    return path, True
