# Level 4: read-only builtins.
#
#     class ReadOnlyBuiltins(dict):
#         def __setitem__(self, key, value): raise ValueError(...)
#         ...
#     __builtins__ = ReadOnlyBuiltins(original_builtins)
#
# The talk: "we can subclass a dictionary and just raise a ValueError for all
# of the things that would change the dictionary". The untrusted code gets
# this dict as its __builtins__. Broken by: the __subclasses__ walk --
# ().__class__.__base__.__subclasses__() still lists every class in the
# process, and some of them hold a reference to os.


class ReadOnlyBuiltins(dict):
    def _refuse(self, *args, **kwargs):
        raise ValueError('builtins are read-only')

    __setitem__ = __delitem__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse


def read_only_builtins(sandbox):
    sandbox.builtins = ReadOnlyBuiltins(_builtins.__dict__)


DEFENCES.append(read_only_builtins)
