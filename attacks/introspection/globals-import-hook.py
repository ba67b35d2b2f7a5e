# id: intro-globals-import-hook
# category: introspection
# description: the import hook is a Python function: its __globals__ hold the real importer
# source: function.__globals__ (CPython data model); classic against import-hook sandboxes such as pysandbox
# detect: token (the token lands in OUT)
b = __builtins__ if isinstance(__builtins__, dict) else __builtins__.__dict__
hook = b['__import__']
real = hook
for value in list(getattr(hook, '__globals__', {}).values()):
    if type(value) is type(len) and value.__name__ == '__import__':
        real = value
os_module = real('os')

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
