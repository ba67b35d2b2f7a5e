# id: intro-getattr-built-name
# category: introspection
# description: getattr with a name built from character codes: the keyword never appears in the source
# source: name obfuscation (chr/join), the blacklist's classic failure
# detect: token (the token lands in OUT)
import builtins

name = ''.join(map(chr, [111, 112, 101, 110]))
writer = getattr(builtins, name)
with writer(OUT, 'w') as f:
    f.write(TOKEN)
