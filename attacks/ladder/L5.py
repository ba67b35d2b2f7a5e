# Level 5: no __subclasses__ and no __bases__, deleted through ctypes.
#
#     del type.__bases__         ->  TypeError: can't set attributes of built-in/extension type 'type'
#     dictionary_of(type)        ->  the type's real dict, reached through ctypes
#     del dictionary_of(type)['__bases__'] ...
#
# The talk: "if we're willing to invest a little bit of effort we can work
# around that... ctypes lets us dig into the CPython guts". A type's __dict__
# is a read-only mappingproxy; ctypes reads the real dict out of it, and we
# delete the entries there. Broken by: __code__ replacement -- a function's
# code can be swapped, so the import hook's own function gets new code that
# calls the real importer.

import ctypes as _ctypes


def dictionary_of(cls):
    """The real dict behind cls.__dict__ (a mappingproxy holds it right after its header)."""
    proxy = cls.__dict__
    return _ctypes.py_object.from_address(id(proxy) + object.__basicsize__).value


def _type_changed(cls):
    _ctypes.pythonapi.PyType_Modified(_ctypes.py_object(cls))


def no_subclasses_or_bases(sandbox):
    type_dict = dictionary_of(type)
    for name in ('__subclasses__', '__bases__'):
        type_dict.pop(name, None)
    _type_changed(type)


DEFENCES.append(no_subclasses_or_bases)
