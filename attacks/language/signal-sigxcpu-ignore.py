# id: signal-ignore-sigxcpu
# category: language
# description: ignore SIGXCPU (the soft CPU rlimit) and spin: the CPU limit must still end the run
# source: setrlimit(2) RLIMIT_CPU semantics: SIGXCPU at the soft limit can be caught
# detect: limit (the run must end with a CPU or time limit)
# expect: cpu_limit|timeout|killed
import signal

signal.signal(signal.SIGXCPU, signal.SIG_IGN)
while True:
    pass
