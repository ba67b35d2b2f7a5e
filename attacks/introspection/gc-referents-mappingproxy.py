# id: intro-gc-referents
# category: introspection
# description: gc.get_referents(hook) returns the hook's globals dict even where __globals__ is hidden; the real importer is in it
# source: the gc module (CPython): get_referents sees what tp_traverse sees
# detect: token (the token lands in OUT)
import gc

b = __builtins__ if isinstance(__builtins__, dict) else __builtins__.__dict__
importer = b['__import__']
for ref in gc.get_referents(importer):
    if type(ref) is dict and 'ORIGINAL_IMPORT' in ref:
        importer = ref['ORIGINAL_IMPORT']
os_module = importer('os')
fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
