# id: fs-rename-outside
# category: filesystem
# description: rename a workspace file onto OUT (rename is not an open)
# source: rename(2) across directories; audit event os.rename
# detect: token (the token lands in OUT)
import os

with open('/workspace/stage.txt', 'w') as f:
    f.write(TOKEN)
os.rename('/workspace/stage.txt', OUT)
