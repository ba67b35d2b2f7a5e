// Public face of the seccomp filter compiler: everything else in this folder
// is an implementation detail, re-exported only where callers need it.

export {
  compileSeccompFilter,
  compileSeccompProgram,
  describeSeccompPolicy,
  hostSeccompArch,
  actionValue,
  SeccompError,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_DATA_OFFSET,
  type CompileSeccompOptions,
  type SeccompErrorCode,
  type SeccompPolicyDescription,
  type SeccompRuleDescription,
} from './compile.js';
export {
  buildSeccompPolicy,
  type ArgCondition,
  type SeccompAction,
  type SeccompPolicyOptions,
  type SeccompRule,
} from './policy.js';
export { compileStrictSeccompFilter, STRICT_RULES, AF_UNIX } from './strict.js';
export { AUDIT_ARCH, X32_SYSCALL_BIT, syscallNumber, type SeccompArch, type SyscallName } from './syscalls.js';
export { BpfAssembler, BpfError, decode as decodeBpf, serialize as serializeBpf, type SockFilter } from './bpf.js';
export { runFilter, type SeccompData } from './emulate.js';
