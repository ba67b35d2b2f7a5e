# id: builtins-ctypes-true-is-zero
# category: language
# description: Python 3 made True a keyword; ctypes rewrites the True object value instead, for every later run
# source: the Python 2 trick True, False = False, True, redone with ctypes memory writes (CPython PyLongObject layout)
# detect: followup (the next, ordinary run through the same sandbox behaves differently)
import ctypes

digit_offset = 3 * ctypes.sizeof(ctypes.c_void_p)
ctypes.c_uint32.from_address(id(True) + digit_offset).value = 0
