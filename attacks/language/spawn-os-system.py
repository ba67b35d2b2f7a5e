# id: spawn-os-system
# category: language
# description: os.system a shell that writes the token
# source: os.system (audit event os.system)
# detect: token (the started shell writes the token to OUT)
import os

os.system("printf %s '" + TOKEN + "' > '" + OUT + "'")
