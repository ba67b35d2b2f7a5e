// The second filter a run under policy 'strict' stacks on top of the jail's own, right
// before the program runs (load_strict_filter in src/guest/python/seccomp.py): the rules of
// the strict policy that the kernel can hold. The audit hook refuses the same things
// with a clear error; this is what still refuses them once the hook is bypassed (an
// unaudited call such as _posixsubprocess.fork_exec, a swapped hook, a memory bug).
// Every rule answers EPERM, so Python raises PermissionError rather than dying.
// SECURITY.md has the table of which strict rule is held where, and why.

import { compileSeccompProgram, resolveArch } from './compile.js';
import { serialize } from './bpf.js';
import { DENY_EPERM, type ArgCondition, type SeccompRule } from './policy.js';
import type { SeccompArch, SyscallName } from './syscalls.js';

export const AF_UNIX = 1;

const rule = (reason: string, syscall: SyscallName, when?: ArgCondition): SeccompRule => ({
  syscall,
  action: DENY_EPERM,
  group: 'strict',
  reason,
  ...(when ? { when } : {}),
});

/** The strict policy's rules the kernel can hold (not fork/clone: strict allows os.fork). */
export const STRICT_RULES: readonly SeccompRule[] = [
  rule('strict: no new programs (every way to one ends in execve or execveat)', 'execve'),
  rule('strict: no new programs (fexecve, memfd)', 'execveat'),
  rule('strict: no sockets but unix ones', 'socket', { op: 'notIn', arg: 0, values: [AF_UNIX] }),
  rule('strict: no sockets but unix ones', 'socketpair', { op: 'notIn', arg: 0, values: [AF_UNIX] }),
  rule('strict: no connect (socket.connect)', 'connect'),
  rule('strict: no bind (socket.bind)', 'bind'),
  rule('strict: no sending to an address (socket.sendto); send() on a connected socket passes NULL', 'sendto', { op: 'nonZero', arg: 4 }),
  rule('strict: no sendmsg (socket.sendmsg)', 'sendmsg'),
  rule('strict: no sendmsg (socket.sendmsg), many at once', 'sendmmsg'),
];

/** The strict filter as `struct sock_filter[]` bytes: sent in a strict run's request. */
export function compileStrictSeccompFilter(arch?: SeccompArch): Buffer {
  return serialize(compileSeccompProgram(STRICT_RULES, resolveArch(arch)));
}
