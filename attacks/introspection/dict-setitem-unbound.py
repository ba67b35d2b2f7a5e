# id: intro-dict-setitem-unbound
# category: introspection
# description: dict.__setitem__(read_only_builtins, ...) skips the subclass's override: put the real importer back
# source: Python method resolution: calling the base class method directly bypasses an override
# detect: token (the token lands in OUT)
b = __builtins__ if isinstance(__builtins__, dict) else __builtins__.__dict__
hook = b['__import__']
real = getattr(hook, '__globals__', {}).get('ORIGINAL_IMPORT', hook)
dict.__setitem__(b, '__import__', real)
import os as os_module

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
