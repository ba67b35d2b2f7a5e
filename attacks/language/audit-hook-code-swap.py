# id: audit-hook-code-swap
# category: language
# description: find the audit hook function with gc and replace its __code__ with a no-op of the same shape
# source: PEP 578: hooks cannot be removed, but a Python hook is a function, and functions are mutable
# detect: token (the token lands in OUT)
# uses: disarm_hook
import os as os_module

disarm_hook()
fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
