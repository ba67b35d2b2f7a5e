# id: leak-env-proc-self-environ
# category: leaks
# description: read /proc/self/environ (the environment the process started with, even if os.environ was scrubbed)
# source: proc(5) /proc/[pid]/environ
# detect: secret (a planted secret appears in the output)
with open('/proc/self/environ', 'rb') as f:
    print(f.read().replace(b'\0', b'\n').decode('utf-8', 'replace'))
