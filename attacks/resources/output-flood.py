# id: res-output-flood
# category: resources
# description: print forever
# source: output floods fill the supervisor’s memory or disk
# detect: limit (only a limit can end it)
# expect: output_limit
line = 'x' * 8191
while True:
    print(line)
