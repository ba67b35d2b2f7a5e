# id: intro-importlib-import-module
# category: introspection
# description: importlib.import_module does not go through builtins.__import__
# source: importlib (stdlib): a second door into the import system
# detect: token (the token lands in OUT)
import importlib

os_module = importlib.import_module('os')

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
