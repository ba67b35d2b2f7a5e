# id: res-memory-bomb
# category: resources
# description: append megabyte strings to a list until memory runs out
# source: memory exhaustion (CWE-400)
# detect: limit (only a limit can end it)
# expect: memory_limit|error|killed
hoard = []
while True:
    hoard.append(' ' * (1 << 20) + str(len(hoard)))
