# id: intro-frames-traceback
# category: introspection
# description: raise and catch: the traceback's tb_frame.f_back chain reaches the sandbox's frames and their globals
# source: classic pyjail escape (tracebacks carry frames); the talk's "remaining 20 %"
# detect: token (the token lands in OUT)
# uses: find_os
try:
    1 / 0
except ZeroDivisionError as e:
    os_module = find_os(e.__traceback__.tb_frame)

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
