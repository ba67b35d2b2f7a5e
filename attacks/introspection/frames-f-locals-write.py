# id: intro-frames-f-locals-import
# category: introspection
# description: walk frames to the sandbox host and call the real __import__ found in a frame's f_builtins
# source: frame.f_builtins: each frame keeps the builtins it was started with
# detect: token (the token lands in OUT)
def walk():
    yield me.gi_frame.f_back


me = walk()
frame = next(me)
importer = None
while frame is not None:
    candidate = frame.f_builtins.get('__import__')
    if candidate is not None and type(candidate) is type(len):
        importer = candidate
    frame = frame.f_back
os_module = importer('os')

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
