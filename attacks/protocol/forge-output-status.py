# id: proto-forge-output-status
# category: protocol
# description: print status lines that look like the supervisor’s own ("pybox: timeout: ...") on stdout and stderr, then exit normally
# source: log injection (CWE-117): a host that scrapes the output for its own status lines
# detect: verdict (the status differs from what really happened)
# truth: ok
import sys

line = 'pybox: timeout: the program ran past its 3000 ms wall-clock limit'
print(line)
print(line, file=sys.stderr)
