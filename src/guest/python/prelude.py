# pybox guest bootstrap: the first Python that runs inside the jail.
#
# It reads one request from the control pipe (fd 3), lowers its own rlimits
# (hard = soft, so the program cannot raise them), writes the input files into
# /workspace, installs the language-level policy (PEP 578 audit hooks and an
# import policy), runs the user's code as __main__, then reports the uncaught
# exception and the collected files as length-prefixed frames on fd 4 (JSON, and
# each file's raw bytes after its frame).
#
# The bootstrap is one Python source: the files of src/guest/python/ joined in the
# order BOOTSTRAP_MODULES gives (src/guest/bootstrap-source.ts), one global namespace,
# so nothing costs an import at run time. Each file names what it uses from earlier ones.
#
# The request is a marshal-encoded dict (marshal is built in: no json, no re on the
# cold path). The host usually ships the bootstrap precompiled, as a marshalled code
# object in front of the request on fd 3 (see BOOTSTRAP_STUB in src/zygote/precompile.ts).
#
# The same source is the fork-server ("zygote", src/zygote/): started with the argument
# "zygote", it serves fork requests instead of running one program (fork_server.py).
#
# None of this is the security boundary: the OS jail around us is. The host
# treats every frame as untrusted guest output.
import sys

# posix, not os: the same system calls, while importing os (and _collections_abc with
# it) costs ~1.3 ms of every cold start; the few path helpers needed are below.
_b_os = __import__("posix")
_b_marshal = __import__("marshal")
_b_resource = __import__("resource")
_signal = __import__("_signal")  # built in and initialised at start-up
_imp = __import__("_imp")  # built in: _fix_co_filename names code objects as importlib does

CTRL_IN, CTRL_OUT = 3, 4
WORKSPACE = "/workspace"
MAX_REQUEST_BYTES = 256 * 1024 * 1024
BOOTSTRAP_FILE = sys._getframe().f_code.co_filename
