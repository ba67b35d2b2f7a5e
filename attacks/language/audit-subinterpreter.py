# id: audit-subinterpreter
# category: language
# description: audit hooks are per interpreter: lift the import denylist through frames, then run code in a fresh subinterpreter
# source: PEP 578 ("hooks added with sys.addaudithook() apply to the current interpreter"); _xxsubinterpreters (3.11)
# detect: token (the token lands in OUT)
# uses: find_global
g = find_global('DENIED_MODULES')
if g is not None:
    g['DENIED_MODULES'] = frozenset()
import _xxsubinterpreters as interpreters

interp = interpreters.create()
interpreters.run_string(interp, (
    'import os\n'
    'fd = os.open(%r, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)\n'
    'os.write(fd, %r)\n'
    'os.close(fd)\n') % (OUT, TOKEN.encode()))
