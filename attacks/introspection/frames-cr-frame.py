# id: intro-frames-cr-frame
# category: introspection
# description: a running coroutine's cr_frame.f_back is whoever drives it: walk up to the sandbox and take os
# source: CPython data model (coroutine objects, cr_frame); variant of the gi_frame walk
# detect: token (the token lands in OUT)
# uses: find_os
async def co():
    return me.cr_frame.f_back


me = co()
try:
    me.send(None)
except StopIteration as stop:
    os_module = find_os(stop.value)

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
