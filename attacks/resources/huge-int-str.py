# id: res-huge-int-to-str
# category: resources
# description: lift the int/str conversion limit and convert a 10-million-digit number to a string
# source: CVE-2020-10735 (quadratic int to str), sys.set_int_max_str_digits
# detect: limit (only a limit can end it)
# expect: cpu_limit|timeout|memory_limit
import sys

sys.set_int_max_str_digits(0)
n = 10 ** 10000000 - 1
print(len(str(n)))
