# id: intro-sys-modules
# category: introspection
# description: sys.modules already holds os: take it from there instead of importing it
# source: sys.modules (the import system's cache); names built at run time so no keyword appears
# detect: token (the token lands in OUT)
import sys

os_module = sys.modules['o' + 's']
fd = getattr(os_module, 'op' + 'en')(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
