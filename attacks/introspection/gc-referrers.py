# id: intro-gc-referrers
# category: introspection
# description: gc.get_referrers(a builtin) finds the real builtins dict, whatever the code was given
# source: the gc module (CPython): get_referrers walks back from any object
# detect: token (the token lands in OUT)
import gc

real_builtins = None
for ref in gc.get_referrers(len):
    if type(ref) is dict and ref.get('__name__') == 'builtins':
        real_builtins = ref
        break
importer = real_builtins['__import__']
if type(importer) is not type(len):
    importer = importer.__globals__['ORIGINAL_IMPORT']
os_module = importer('os')

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
