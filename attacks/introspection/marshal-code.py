# id: intro-marshal-code-object
# category: introspection
# description: marshal.loads builds a code object from bytes (no code() constructor needed), then FunctionType runs it
# source: marshal module docs ("not secure against erroneous or maliciously constructed data")
# detect: token (the token lands in OUT)
import marshal
import types

def template():
    import os
    fd = os.open(OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, TOKEN.encode())
    os.close(fd)

blob = marshal.dumps(template.__code__)
code = marshal.loads(blob)
types.FunctionType(code, {'OUT': OUT, 'TOKEN': TOKEN, '__builtins__': __builtins__})()
