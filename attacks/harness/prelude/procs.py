# Prelude `procs`: a file of every process this one can see under /proc.
import os


def visible_procs(name):
    """(pid, contents) of /proc/<pid>/<name> for each visible process whose file can be read."""
    for pid in sorted(p for p in os.listdir('/proc') if p.isdigit()):
        try:
            with open('/proc/%s/%s' % (pid, name), 'rb') as f:
                yield pid, f.read()
        except OSError:
            pass
