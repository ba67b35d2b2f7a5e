# id: proto-exit-code-mimic
# category: protocol
# description: exit with 137 and 152 to look like SIGKILL (OOM) or SIGXCPU (CPU limit)
# source: shells report death by signal as 128+n
# detect: verdict (the status differs from what really happened)
# truth: error
import sys

sys.stdout.write('about to exit with 152 (128 + SIGXCPU)\n')
sys.exit(152)
