# id: intro-frames-sys-getframe
# category: introspection
# description: import sys and use sys._getframe() to reach the caller's globals
# source: CPython sys._getframe; every debugger and logging library uses it
# detect: token (the token lands in OUT)
def find_os(frame):
    while frame is not None:
        for value in list(frame.f_globals.values()):
            if getattr(value, '__name__', None) in ('os', 'posix') and hasattr(value, 'O_WRONLY'):
                return value
        frame = frame.f_back
    return None


import sys

os_module = find_os(sys._getframe())

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
