# id: leak-format-string-env
# category: leaks
# description: a format string reads os.environ through attribute and key lookups: no call, no import in the untrusted template
# source: Python format-string injection (str.format on attacker templates)
# detect: secret (a planted secret appears in the output)
import os

template = '{0.environ[%s]}' % SECRET_ENV
print(template.format(os))
