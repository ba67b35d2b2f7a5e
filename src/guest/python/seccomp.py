# The kernel's half of the strict policy. Uses: prelude.

PR_GET_SECCOMP, PR_SET_SECCOMP, SECCOMP_MODE_FILTER = 21, 22, 2
# The loader, built ahead where a jail waits warm (the zygote, pooled jails): built in a
# forked child it would fault in the whole import machinery on the request's path.
# main() takes it out of here before any user code runs.
_SECCOMP_LOADER = [None]


def seccomp_loader():
    """load(prog): stacks the BPF program `prog` (struct sock_filter[] bytes the host
    compiled: the rules of the strict policy the kernel can hold, src/jail/seccomp/strict.ts)
    on this process's seccomp filters. Everything the program runs or forks keeps it, and
    no filter can be taken off again. Python has no prctl: this is _ctypes alone (ctypes
    itself imports os and costs ~8 ms), used only by the trusted bootstrap; _ctypes leaves
    sys.modules at once, and the strict policy denies its import. no_new_privs is already
    set (by bwrap, or by the zygote's R), and nothing here has started a thread."""
    ct = __import__("_ctypes")
    sys.modules.pop("_ctypes", None)

    class Ulong(ct._SimpleCData):
        _type_ = "L"

    class CharP(ct._SimpleCData):
        _type_ = "z"

    class Int(ct._SimpleCData):
        _type_ = "i"

    class CFunction(ct.CFuncPtr):
        _flags_ = ct.FUNCFLAG_CDECL | ct.FUNCFLAG_USE_ERRNO
        _restype_ = Int

    prctl = CFunction(ct.dlsym(ct.dlopen(None, 0), "prctl"))
    get_errno, byteorder = ct.get_errno, sys.byteorder

    def load(prog, option=PR_SET_SECCOMP):
        program = CharP(prog)  # keeps prog alive; its value is the address of prog's bytes
        address = Ulong.from_buffer(program).value
        # struct sock_fprog { unsigned short len; (padding) struct sock_filter *filter; }
        fprog = (len(prog) // 8).to_bytes(2, byteorder) + bytes(6) + address.to_bytes(8, byteorder)
        result = prctl(Ulong(option), Ulong(SECCOMP_MODE_FILTER), fprog, Ulong(0), Ulong(0))
        if result < 0:
            errno = get_errno()
            raise OSError(errno, "prctl(PR_SET_SECCOMP): " + _b_os.strerror(errno))
        return result

    return load


def load_strict_filter(prog):
    """The strict request's filter, stacked before the ready frame: a jail that cannot hold
    the strict policy never came up (the host reports internal_error)."""
    load, _SECCOMP_LOADER[0] = _SECCOMP_LOADER[0], None
    try:
        if not prog or len(prog) % 8:
            raise OSError("a strict request without its seccomp filter")
        (load or seccomp_loader())(prog)
    except Exception as exc:
        _b_os.write(2, ("pybox: cannot load the strict policy's seccomp filter: %s\n" % exc).encode())
        _b_os._exit(70)
