# id: intro-builtin-loader
# category: introspection
# description: __loader__ (BuiltinImporter) and __spec__ sit in builtins: load posix directly
# source: importlib machinery: builtins.__loader__ is BuiltinImporter
# detect: token (the token lands in OUT)
b = __builtins__ if isinstance(__builtins__, dict) else __builtins__.__dict__
loader = b['__loader__']
os_module = loader.load_module('posix')

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
