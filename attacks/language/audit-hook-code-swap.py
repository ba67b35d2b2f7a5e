# id: audit-hook-code-swap
# category: language
# description: find the audit hook function with gc and replace its __code__ with a no-op of the same shape
# source: PEP 578: hooks cannot be removed, but a Python hook is a function, and functions are mutable
# detect: token (the token lands in OUT)
import gc
import os as os_module

hook = None
for obj in gc.get_objects():
    if type(obj) is type(gc.collect) or not callable(obj):
        continue
    code = getattr(obj, '__code__', None)
    # by shape, not by name: a nested function of (event, args), the audit hook signature
    if code is not None and code.co_varnames[:2] == ('event', 'args') and code.co_freevars:
        hook = obj
        break
if hook is not None:
    names = hook.__code__.co_freevars
    src = 'def outer():\n    ' + ' = '.join(names) + ' = None\n    def hook(event, args):\n        return (' + ', '.join(names) + ')\n    return hook\n'
    ns = {}
    exec(src, ns)
    hook.__code__ = ns['outer']().__code__

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
