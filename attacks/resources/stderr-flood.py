# id: res-stderr-flood
# category: resources
# description: write to stderr forever, unbuffered
# source: output floods on the second stream
# detect: limit (only a limit can end it)
# expect: output_limit
import os

block = b'e' * 65536
while True:
    os.write(2, block)
