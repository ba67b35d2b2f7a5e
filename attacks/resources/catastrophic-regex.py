# id: res-catastrophic-regex
# category: resources
# description: (a+)+$ against a string of a’s ending in b: exponential backtracking
# source: ReDoS (OWASP); the talk’s own whitelist allows re
# detect: limit (only a limit can end it)
# expect: cpu_limit|timeout
import re

re.match(r'(a+)+$', 'a' * 64 + 'b')
