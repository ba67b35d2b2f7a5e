# id: intro-type-subclasses-call
# category: introspection
# description: type.__subclasses__(object) via the metaclass, then BuiltinImporter.load_module('posix')
# source: type.__subclasses__ (CPython); BuiltinImporter is always among object's subclasses
# detect: token (the token lands in OUT)
for cls in type.__subclasses__(object):
    if cls.__name__ == 'BuiltinImporter':
        os_module = cls.load_module('posix')
        break

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
