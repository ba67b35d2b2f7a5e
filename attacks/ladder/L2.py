# Level 2: a builtins whitelist.
#
#     for name in original_builtins.keys():
#         if name not in BUILTINS_WHITELIST: del original_builtins[name]
#
# Everything not on the list is deleted from the real builtins before any
# untrusted code runs: open, eval, exec, compile, input, globals, vars...
# __import__ stays (the talk: "oh yeah, I can import os"). Broken by:
# import os; os.open(...).
#
# The whitelist REPLACES L1's blacklist: the talk drops it ("blacklist not so
# hot an idea... how about a whitelist"), and its recap of the final sandbox
# has no blacklist. Every later level keeps everything from here on.

import builtins as _builtins

BUILTINS_WHITELIST = set([
    # constants and the machinery the compiler needs
    'None', 'True', 'False', 'Ellipsis', 'NotImplemented', '__build_class__', '__import__', '__name__',
    # types
    'bool', 'bytearray', 'bytes', 'complex', 'dict', 'float', 'frozenset', 'int', 'list', 'object',
    'range', 'set', 'slice', 'str', 'tuple', 'type', 'property', 'classmethod', 'staticmethod', 'super',
    'enumerate', 'filter', 'map', 'reversed', 'zip',
    # functions
    'abs', 'all', 'any', 'ascii', 'bin', 'callable', 'chr', 'divmod', 'format', 'getattr', 'hasattr',
    'hash', 'hex', 'id', 'isinstance', 'issubclass', 'iter', 'len', 'max', 'min', 'next', 'oct', 'ord',
    'pow', 'print', 'repr', 'round', 'setattr', 'delattr', 'sorted', 'sum', 'dir', 'memoryview',
])
# and every exception class
BUILTINS_WHITELIST.update(name for name, value in vars(_builtins).items()
                          if isinstance(value, type) and issubclass(value, BaseException))


def builtins_whitelist(sandbox):
    original_builtins = vars(_builtins)
    for name in list(original_builtins.keys()):
        if name not in BUILTINS_WHITELIST:
            del original_builtins[name]


DEFENCES.remove(keyword_blacklist)
DEFENCES.append(builtins_whitelist)
