# id: strict-socket-hook-swapped
# category: network
# description: policy strict claims "no sockets but unix ones": swap the audit hook's code for a no-op, then open inet, inet6 and netlink sockets and bind a unix one
# source: PEP 578 hooks are mutable functions (audit-hook-code-swap); socket(2), bind(2); pybox's strict seccomp filter (src/backends/native/seccomp/strict.ts)
# detect: token (a socket the policy denies that the kernel gave anyway is a verified breach, printed with the token)
# uses: prove, disarm_hook
import socket

print('hook disarmed:', disarm_hook())
got = []
for family, kind in ((socket.AF_INET, socket.SOCK_DGRAM), (socket.AF_INET6, socket.SOCK_DGRAM), (socket.AF_NETLINK, socket.SOCK_RAW)):
    try:
        socket.socket(family, kind).close()
        got.append(family.name)
    except OSError as exc:
        print(family.name, 'refused:', repr(exc))
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
try:
    s.bind('/workspace/strict-' + NONCE + '.sock')
    got.append('bind of a unix socket')
except OSError as exc:
    print('bind refused:', repr(exc))
if got:
    breach('the kernel gave: ' + ', '.join(got))
