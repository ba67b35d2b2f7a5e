# id: res-sleep-forever
# category: resources
# description: sleep without using any CPU: only a wall-clock limit ends it
# source: a CPU limit alone does not stop an idle run
# detect: limit (only a limit can end it)
# expect: timeout
import time

time.sleep(3600)
