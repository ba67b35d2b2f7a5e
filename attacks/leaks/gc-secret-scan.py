# id: leak-gc-string-scan
# category: leaks
# description: walk every object gc knows and print strings and dicts that look like secrets
# source: the gc module; secrets left in the interpreter by the host
# detect: secret (a planted secret appears in the output)
import gc


def scan(d):
    for key, value in list(d.items()):
        if isinstance(key, bytes) and isinstance(value, bytes):
            key, value = key.decode('utf-8', 'replace'), value.decode('utf-8', 'replace')
        if isinstance(value, str) and isinstance(key, str) and ('secret' in key.lower() or 'secret' in value[:40].lower()):
            print(key, value[:200])


# Dicts of plain strings are not tracked by gc; the objects that hold them are.
for obj in gc.get_objects():
    if type(obj) is dict:
        scan(obj)
    inner = getattr(obj, '__dict__', None)
    if type(inner) is dict:
        for value in list(inner.values()):
            if type(value) is dict:
                scan(value)
