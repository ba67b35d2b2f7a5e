# id: res-c-stack-overflow
# category: resources
# description: a chain of 400 000 nested filter() iterators: next() recurses in C and crashes the interpreter
# source: Lib/test/crashers (C recursion without a depth check)
# detect: limit (only a limit can end it)
# expect: killed|memory_limit|error
it = iter([1])
for _ in range(400000):
    it = filter(None, it)
next(it)
