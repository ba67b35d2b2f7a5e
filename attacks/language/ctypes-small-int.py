# id: ctypes-small-int-42
# category: language
# description: ctypes writes 43 into the cached small int 42: every later 6 * 7 in the process is 43
# source: CPython small-int cache + ctypes memory write (well-known ctypes party trick)
# detect: followup (the next, ordinary run through the same sandbox behaves differently)
import ctypes

digit_offset = 3 * ctypes.sizeof(ctypes.c_void_p)
ctypes.c_uint32.from_address(id(42) + digit_offset).value = 43
