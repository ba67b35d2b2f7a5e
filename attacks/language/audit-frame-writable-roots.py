# id: audit-frame-writable-roots
# category: language
# description: the audit hook reads WRITABLE_ROOTS from its module globals at call time: reach them through frames and widen them
# source: PEP 578 (audit hooks are not a sandbox); pybox src/guest/python/policy.py
# detect: token (the token lands in OUT)
# uses: find_global
g = find_global('WRITABLE_ROOTS')
if g is not None:
    g['WRITABLE_ROOTS'] = ('',)
os_module = (g or {}).get('_b_os') or find_global('os')['os']

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
