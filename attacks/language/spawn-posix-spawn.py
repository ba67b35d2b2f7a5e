# id: spawn-os-posix-spawn
# category: language
# description: os.posix_spawn a shell that writes the token
# source: os.posix_spawn (Python 3.8+), audit event os.posix_spawn
# detect: token (the started shell writes the token to OUT)
import os

command = "printf %s '" + TOKEN + "' > '" + OUT + "'"
pid = os.posix_spawn('/bin/sh', ['sh', '-c', command], {})
os.waitpid(pid, 0)
