# id: intro-rot13-builtin
# category: introspection
# description: rot13-encode the name of the file opener and look it up in the builtins dict
# source: PyCon 2014 talk (McKellar), breaking the keyword blacklist: "what if we just rot13 encode the word"
# detect: token (the token lands in OUT)
# talk: L1
rot13 = str.maketrans('abcdefghijklmnopqrstuvwxyz', 'nopqrstuvwxyzabcdefghijklm')
b = __builtins__ if isinstance(__builtins__, dict) else __builtins__.__dict__
writer = b['bcra'.translate(rot13)]
with writer(OUT, 'w') as f:
    f.write(TOKEN)
