# id: intro-import-os
# category: introspection
# description: import os and write with os-level calls: no builtin is needed at all
# source: PyCon 2014 talk (McKellar), breaking the builtins whitelist: "oh yeah, I can import os"
# detect: token (the token lands in OUT)
# talk: L2
import os

fd = os.open(OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
os.write(fd, TOKEN.encode())
os.close(fd)
