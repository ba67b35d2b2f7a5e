# Level 3: an import whitelist through a hooked __import__.
#
#     def _safe_import(name, globals=None, locals=None, fromlist=(), level=0):
#         if name in MODULE_WHITELIST:
#             return ORIGINAL_IMPORT(name, globals, locals, fromlist, level)
#         raise ImportError(...)
#     __builtins__['__import__'] = _safe_import
#
# The talk: "maybe we want to be super conservative: the only modules you can
# import are string and re". Broken by: tampering with builtins -- builtins
# are still writable, so the code reads the real importer out of the hook
# and puts it back (__builtins__['__import__'] = ...), then imports os.

MODULE_WHITELIST = set(['string', 're'])
ORIGINAL_IMPORT = _builtins.__import__


def _safe_import(name, globals=None, locals=None, fromlist=(), level=0):
    if name in MODULE_WHITELIST:
        return ORIGINAL_IMPORT(name, globals, locals, fromlist, level)
    raise ImportError('module not allowed: %s' % name)


# Load the allowed modules up front (as the talk's REPL had them): once the
# hook is in, their own imports (string imports collections...) are refused.
for _name in MODULE_WHITELIST:
    ORIGINAL_IMPORT(_name)


def import_whitelist(sandbox):
    _builtins.__dict__['__import__'] = _safe_import


DEFENCES.append(import_whitelist)
