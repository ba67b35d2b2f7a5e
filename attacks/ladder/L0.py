# Level 0 of the talk's ladder: a "sandbox" that just execs the code.
#
#     class Sandbox(object):
#         def execute(self, code_string):
#             exec code_string
#
# Claims: nothing yet. The lab holds every level to the talk's goal: the code
# must not write files (nor read the host's secrets, reach the network, start
# programs or outlive its run). Broken by: open(...).write(...).
#
# The levels are cumulative: the lab execs L0.py .. LN.py into ONE module
# namespace (the talk: "you can imagine a single file containing all of the
# code we've written") and then applies DEFENCES in order before any
# untrusted code runs.

_exec = exec  # Python 3's exec is a builtin, and L2 removes it from builtins

DEFENCES = []


class Sandbox(object):
    def __init__(self):
        self.source_checks = []  # L1 adds the keyword blacklist here
        self.builtins = None     # L4 puts its read-only builtins here

    def execute(self, code_string):
        for check in self.source_checks:
            check(code_string)
        namespace = {'__name__': '__main__'}
        if self.builtins is not None:
            namespace['__builtins__'] = self.builtins
        _exec(code_string, namespace)
