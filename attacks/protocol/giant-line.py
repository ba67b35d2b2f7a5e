# id: proto-giant-line
# category: protocol
# description: one line of many megabytes with no newline: line-based readers buffer it all
# source: unbounded line buffering (CWE-400)
# detect: limit (only the output limit can end it)
# expect: output_limit
import os

block = b'y' * (1 << 20)
while True:
    os.write(1, block)
