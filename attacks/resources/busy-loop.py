# id: res-busy-loop
# category: resources
# description: while True: pass
# source: the talk: "nothing would stop them from using up all my CPU resources"
# detect: limit (only a limit can end it)
# expect: cpu_limit|timeout
while True:
    pass
