# id: intro-frames-sys-getframe
# category: introspection
# description: import sys and use sys._getframe() to reach the caller's globals
# source: CPython sys._getframe; every debugger and logging library uses it
# detect: token (the token lands in OUT)
# uses: find_os
import sys

os_module = find_os(sys._getframe())

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
