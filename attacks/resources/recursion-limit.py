# id: res-deep-recursion
# category: resources
# description: raise the recursion limit to a million and recurse: the C stack overflows
# source: sys.setrecursionlimit docs ("a too-high limit can lead to a crash")
# detect: limit (only a limit can end it)
# expect: killed|memory_limit|error
import sys

sys.setrecursionlimit(10 ** 6)


def down(n):
    return down(n + 1) + 1


down(0)
