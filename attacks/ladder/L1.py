# Level 1: a keyword blacklist.
#
#     if 'file' in code_string: raise ValueError(...)
#
# The talk's idea "just spitballing": refuse code that names a dangerous
# builtin. Python 3 spelling: open instead of file. Broken by: rot13 --
# the literal word never appears, the reference is looked up by a computed
# name (the talk: "the name doesn't super matter, it's the reference").

KEYWORD_BLACKLIST = ['file', 'open', 'eval', 'exec', 'compile', 'quit', 'exit', '__import__', 'input', 'breakpoint']


def keyword_blacklist(sandbox):
    def check(code_string):
        for keyword in KEYWORD_BLACKLIST:
            if keyword in code_string:
                raise ValueError('keyword not allowed: %s' % keyword)
    sandbox.source_checks.append(check)


DEFENCES.append(keyword_blacklist)
