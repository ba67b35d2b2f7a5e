# id: intro-code-replace-import-hook
# category: introspection
# description: give the import hook function new __code__ that calls the real importer from the hook's own globals
# source: PyCon 2014 talk (McKellar), breaking L5: "if we set func_code on foo, it prints kaboom"
# detect: token (the token lands in OUT)
# talk: L5
b = __builtins__ if isinstance(__builtins__, dict) else __builtins__.__dict__
hook = b['__import__']


def permissive(name, globals=None, locals=None, fromlist=(), level=0):
    return ORIGINAL_IMPORT(name, globals, locals, fromlist, level)


hook.__code__ = permissive.__code__
import os

fd = os.open(OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, TOKEN.encode())
os.close(fd)
