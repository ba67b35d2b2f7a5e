# id: res-huge-int-arithmetic
# category: resources
# description: compute 7 ** 10 ** 8 (a number with 84 million digits)
# source: big-integer arithmetic is quadratic-ish (CVE-2020-10735 family)
# detect: limit (only a limit can end it)
# expect: cpu_limit|timeout|memory_limit
x = 7 ** (10 ** 8)
print(x % 10)
