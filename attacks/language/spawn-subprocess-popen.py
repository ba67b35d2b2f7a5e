# id: spawn-subprocess-popen
# category: language
# description: subprocess.run a shell that writes the token
# source: subprocess (stdlib), audit event subprocess.Popen
# detect: token (the started shell writes the token to OUT)
import subprocess

subprocess.run(['/bin/sh', '-c', "printf %s '" + TOKEN + "' > '" + OUT + "'"], check=False)
