# id: fs-direct-write
# category: filesystem
# description: open the host file and write to it: the talk's first attack, before any defence
# source: PyCon 2014 talk (McKellar), level 0: "the ability to write to the file system"
# detect: token (the token lands in OUT, a host file the target forbids writing)
# talk: L0
with open(OUT, 'w') as f:
    f.write(TOKEN)
