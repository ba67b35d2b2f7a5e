# Level 6: no function code, no code object construction. The talk's final
# sandbox: "we have implemented I would say 80% of a full-fledged Python
# sandbox, where the remaining 20% are just edge cases".
#
#     del dictionary_of(FunctionType)['func_code']      (Python 3: __code__)
#     ... and "we deleted the ability to construct arbitrary code objects"
#
# Python 3 makes code objects three ways: code(...) (tp_new), code.replace(),
# and compile(), which L2 already removed. We delete replace() and null the
# code type's tp_new slot through ctypes. What is left is the remaining 20 %:
# see docs/building-and-breaking.md for the break the lab found.

_FunctionType = type(lambda: None)
_CodeType = type((lambda: None).__code__)


def _slot_offset(name):
    # PyTypeObject layout (CPython 3.x, 64-bit or 32-bit): tp_new is the 40th
    # pointer-sized field. Checked against fields we can verify first.
    ptr = _ctypes.sizeof(_ctypes.c_void_p)
    offsets = {'tp_basicsize': 4 * ptr, 'tp_dict': 33 * ptr, 'tp_new': 39 * ptr}
    return offsets[name]


def _null_tp_new(cls):
    base = id(cls)
    basicsize = _ctypes.c_ssize_t.from_address(base + _slot_offset('tp_basicsize')).value
    tp_dict = _ctypes.c_void_p.from_address(base + _slot_offset('tp_dict')).value
    if basicsize != cls.__basicsize__ or tp_dict != id(dictionary_of(cls)):
        raise RuntimeError('unexpected PyTypeObject layout; refusing to patch')
    _ctypes.c_void_p.from_address(base + _slot_offset('tp_new')).value = None


def no_code_objects(sandbox):
    function_dict = dictionary_of(_FunctionType)
    function_dict.pop('__code__', None)
    _type_changed(_FunctionType)
    code_dict = dictionary_of(_CodeType)
    code_dict.pop('replace', None)
    code_dict.pop('__new__', None)
    _type_changed(_CodeType)
    _null_tp_new(_CodeType)


DEFENCES.append(no_code_objects)
