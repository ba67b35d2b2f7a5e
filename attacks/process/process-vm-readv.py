# id: proc-process-vm-readv
# category: process
# description: read the parent’s memory with process_vm_readv
# source: process_vm_readv(2) (needs ptrace access)
# detect: token (the OS was reached: the token lands in OUT; a verified kernel effect is printed as a breach)
# uses: prove, syscall
import os


prove()
buf = ctypes.create_string_buffer(64)


class IOVec(ctypes.Structure):
    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]


local = IOVec(ctypes.addressof(buf), 64)
remote = IOVec(0x400000, 64)
r, err = syscall('process_vm_readv', os.getppid(), ctypes.addressof(local), 1, ctypes.addressof(remote), 1, 0)
if r > 0:
    breach('process_vm_readv read %d bytes of the parent' % r)
