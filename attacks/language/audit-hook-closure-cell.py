# id: audit-hook-closure-cell
# category: language
# description: find the audit hook with gc and overwrite its closure cell "writable" with a function that says yes
# source: cell.cell_contents is writable since Python 3.7; PEP 578 hooks live in ordinary closures
# detect: token (the token lands in OUT)
import gc
import os as os_module

for obj in gc.get_objects():
    code = getattr(obj, '__code__', None)
    # by shape, not by name: a nested function of (event, args), the audit hook signature
    if code is not None and code.co_varnames[:2] == ('event', 'args') and obj.__closure__:
        for name, cell in zip(code.co_freevars, obj.__closure__):
            if name == 'writable':
                cell.cell_contents = lambda path: True

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
