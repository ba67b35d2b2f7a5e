# Prelude `find_global`: walk up from a generator's frame (gi_frame.f_back) to the first
# globals that define a name.
def frames():
    def walk():
        yield me.gi_frame.f_back
    me = walk()
    frame = next(me)
    while frame is not None:
        yield frame
        frame = frame.f_back


def find_global(name):
    for frame in frames():
        if name in frame.f_globals:
            return frame.f_globals
    return None
