# id: builtins-tamper-stdout
# category: language
# description: swap sys.stdout for a wrapper that rewrites everything later runs print
# source: sys.stdout is process state shared by every run in one interpreter
# detect: followup (the next, ordinary run through the same sandbox behaves differently)
import sys


class Rewriter:
    def __init__(self, inner):
        self.inner = inner

    def write(self, text):
        return self.inner.write(text.replace('42', '41'))

    def flush(self):
        self.inner.flush()


sys.stdout = Rewriter(sys.stdout)
