# id: ctypes-libc-system
# category: language
# description: ctypes.CDLL(None).system(): libc runs a shell that writes the token, no Python-level process API involved
# source: ctypes docs (foreign functions); libc system(3)
# detect: token (a shell started from libc writes the token to OUT)
import ctypes

libc = ctypes.CDLL(None)
libc.system(("printf %s '" + TOKEN + "' > '" + OUT + "'").encode())
