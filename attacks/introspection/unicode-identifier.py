# id: intro-unicode-identifier
# category: introspection
# description: fullwidth letters in an identifier are NFKC-normalised by the parser: the source never contains the ASCII keyword
# source: PEP 3131 identifier normalisation; known blacklist bypass
# detect: token (the token lands in OUT)
with ｏｐｅｎ(OUT, 'w') as f:
    f.write(TOKEN)
