# The run's rlimits, lowered by the guest itself. Uses: prelude.

def apply_rlimits(rlimits):
    for name, soft, hard in rlimits:
        if name == "RLIMIT_CPU":
            # The kernel counts a process's CPU from its start, the run's budget from the
            # request. A warm jail spent CPU before it (start-up, warm-up): without this, the
            # rlimit fired that much before the run's counter reached its budget.
            used = _cpu_seconds_used()
            soft, hard = soft + used, hard + used
        _b_resource.setrlimit(getattr(_b_resource, name), (soft, hard))


def _cpu_seconds_used():
    """This process's CPU so far, in whole seconds rounded up (RLIMIT_CPU's unit)."""
    usage = _b_resource.getrusage(_b_resource.RUSAGE_SELF)
    return -int(-(usage.ru_utime + usage.ru_stime) // 1)
