# id: leak-env-os-environ
# category: leaks
# description: print the environment: API keys and tokens live there
# source: twelve-factor apps keep secrets in the environment; os.environ
# detect: secret (a planted secret appears in the output)
import os

for key, value in sorted(os.environ.items()):
    print(key, '=', value)
