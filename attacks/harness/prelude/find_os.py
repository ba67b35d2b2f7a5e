# Prelude `find_os`: climb a frame's f_back chain to globals that hold the os module.
def find_os(frame):
    while frame is not None:
        for value in list(frame.f_globals.values()):
            if getattr(value, '__name__', None) in ('os', 'posix') and hasattr(value, 'O_WRONLY'):
                return value
        frame = frame.f_back
    return None
