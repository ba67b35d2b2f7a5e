# id: spawn-fork-execv
# category: language
# description: os.fork is not a "program start": fork, then execv a shell in the child
# source: os.fork / os.execv (audit events os.fork, os.exec)
# detect: token (the started shell writes the token to OUT)
import os

pid = os.fork()
if pid == 0:
    try:
        os.execv('/bin/sh', ['sh', '-c', "printf %s '" + TOKEN + "' > '" + OUT + "'"])
    finally:
        os._exit(127)
os.waitpid(pid, 0)
