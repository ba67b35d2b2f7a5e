# id: res-memory-one-allocation
# category: resources
# description: one huge allocation touched page by page
# source: memory exhaustion in a single request
# detect: limit (only a limit can end it)
# expect: memory_limit|error|killed
size = 1 << 30
block = bytearray(size)
for i in range(0, size, 4096):
    block[i] = 1
