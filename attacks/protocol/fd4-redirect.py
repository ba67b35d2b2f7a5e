# id: proto-fd4-redirect
# category: protocol
# description: point fd 4 at a pipe of its own so the bootstrap’s final report goes nowhere, then fail
# source: dup2(2) over the report channel
# detect: verdict (the status differs from what really happened)
# truth: error
import os

r, w = os.pipe()
os.dup2(w, 4)
raise RuntimeError('this failure must still be reported as an error')
