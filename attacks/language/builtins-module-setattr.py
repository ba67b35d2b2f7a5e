# id: builtins-module-setattr
# category: language
# description: import builtins and setattr on the module: same tampering, through the module instead of the dict
# source: the builtins module (stdlib); setattr on a module writes its __dict__
# detect: followup (the next, ordinary run through the same sandbox behaves differently)
import builtins

real_print = builtins.print
setattr(builtins, 'print', lambda *a, **k: real_print('tampered', *a, **k))
