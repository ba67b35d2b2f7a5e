# id: signal-ignore-catchable
# category: language
# description: ignore every catchable signal (TERM, INT, HUP, ALRM, XCPU, ...) and spin
# source: signal(7): only SIGKILL and SIGSTOP cannot be caught; a supervisor that asks politely loses
# detect: limit (the run must end with a CPU or time limit)
# expect: cpu_limit|timeout|killed
import signal

for sig in signal.valid_signals():
    try:
        signal.signal(sig, signal.SIG_IGN)
    except (OSError, ValueError, RuntimeError):
        pass
while True:
    pass
