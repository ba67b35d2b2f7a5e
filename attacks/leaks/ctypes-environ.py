# id: leak-libc-environ
# category: leaks
# description: read the C environment block through ctypes (what the process was started with)
# source: environ(7) via ctypes; os.environ can be scrubbed, the C block stays
# detect: secret (a planted secret appears in the output)
import ctypes

environ = ctypes.POINTER(ctypes.c_char_p).in_dll(ctypes.CDLL(None), 'environ')
i = 0
while environ[i]:
    print(environ[i].decode('utf-8', 'replace'))
    i += 1
