# id: intro-exception-defence-frame
# category: introspection
# description: make a defence raise (a refused import, a refused builtins write) and read its own frame out of the traceback
# source: exception attributes (__traceback__.tb_next.tb_frame); a defence that raises hands over its frame
# detect: token (the token lands in OUT)
importer = None
for provoke in (lambda: __import__('os'), lambda: __builtins__.__setitem__('x', 1)):
    try:
        provoke()
    except Exception as e:
        tb = e.__traceback__
        while tb is not None:
            g = tb.tb_frame.f_globals
            if 'ORIGINAL_IMPORT' in g:
                importer = g['ORIGINAL_IMPORT']
            tb = tb.tb_next
    if importer is not None:
        break
if importer is None:
    importer = __import__
os_module = importer('os')

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
