# id: fs-read-secret-linecache
# category: filesystem
# description: linecache.getlines reads any file for you (tracebacks use it)
# source: linecache (stdlib): a file reader hidden in the traceback machinery
# detect: secret (the planted secret appears in the output)
import linecache

print(''.join(linecache.getlines(SECRET_PATH)))
