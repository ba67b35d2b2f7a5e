# Prelude `prove`: how an attack shows it reached the OS, and reports a verified breach.
# OUT and TOKEN are set by the lab for each run.
import os


def prove():
    """The OS was reached from the untrusted code: leave the token where this target forbids writing."""
    try:
        fd = os.open(OUT, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, TOKEN.encode())
        os.close(fd)
    except OSError:
        pass


def breach(detail):
    """Only called once an effect the jail denies was verified."""
    print('BREACH', TOKEN, detail, flush=True)
