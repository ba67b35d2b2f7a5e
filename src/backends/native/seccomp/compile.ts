// Compiles the policy into a classic-BPF seccomp program for bubblewrap's
// `--seccomp FD` (which expects raw `struct sock_filter[]` bytes).
//
// Layout:
//   ld arch ; jne AUDIT_ARCH -> KILL     foreign ABI (e.g. i386 via int 0x80)
//   ld nr   ; jge X32_BIT   -> KILL      x86_64 only: x32 shares AUDIT_ARCH
//   jeq nr_1 -> ret/rule_1 ...           one compare per policy syscall
//   ret ALLOW
//   rule_i: ld arg ; compare ; ret       out-of-line argument checks
//   shared RET blocks
// Arguments are only loaded inside rule blocks, so for every other syscall the
// result depends on (arch, nr) alone; the kernel (>= 5.11) detects that and
// caches "always allow" per syscall, skipping the filter on hot paths.

import { BpfAssembler, NEXT, serialize, type SockFilter } from './bpf.js';
import {
  buildSeccompPolicy,
  type ArgCondition,
  type SeccompAction,
  type SeccompPolicyOptions,
  type SeccompRule,
} from './policy.js';
import { AUDIT_ARCH, SECCOMP_ARCHES, X32_SYSCALL_BIT, syscallNumber, type SeccompArch, type SyscallName } from './syscalls.js';

// Return values from <linux/seccomp.h>.
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;
const MAX_ERRNO = 4095;

/** Offsets into `struct seccomp_data` (little-endian arches only). */
export const SECCOMP_DATA_OFFSET = {
  nr: 0,
  arch: 4,
  instructionPointer: 8,
  argLow: (i: number): number => 16 + 8 * i,
  argHigh: (i: number): number => 16 + 8 * i + 4,
} as const;

export type SeccompErrorCode = 'E_SECCOMP_ARCH' | 'E_SECCOMP_POLICY';

export class SeccompError extends Error {
  constructor(
    readonly code: SeccompErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SeccompError';
  }
}

export interface CompileSeccompOptions extends SeccompPolicyOptions {
  arch?: SeccompArch;
}

/** Map Node's process.arch to a filterable arch, or throw E_SECCOMP_ARCH. */
export function hostSeccompArch(nodeArch: string = process.arch): SeccompArch {
  if (nodeArch === 'x64') return 'x86_64';
  if (nodeArch === 'arm64') return 'aarch64';
  throw new SeccompError('E_SECCOMP_ARCH', `seccomp filter not available for architecture '${nodeArch}' (supported: x64, arm64)`);
}

export function resolveArch(arch: SeccompArch | undefined): SeccompArch {
  if (arch === undefined) return hostSeccompArch();
  // Runtime check too: options may come from untyped config.
  if (!SECCOMP_ARCHES.includes(arch)) {
    throw new SeccompError('E_SECCOMP_ARCH', `unsupported seccomp arch '${String(arch)}' (supported: ${SECCOMP_ARCHES.join(', ')})`);
  }
  return arch;
}

export function actionValue(action: SeccompAction): number {
  switch (action.type) {
    case 'allow':
      return SECCOMP_RET_ALLOW;
    case 'kill_process':
      return SECCOMP_RET_KILL_PROCESS;
    case 'errno':
      if (!Number.isInteger(action.errno) || action.errno < 1 || action.errno > MAX_ERRNO) {
        throw new SeccompError('E_SECCOMP_POLICY', `errno out of range: ${action.errno}`);
      }
      return (SECCOMP_RET_ERRNO | action.errno) >>> 0;
  }
}

/** Compile an explicit rule list (lower level; tests use it with remapped actions). */
export function compileSeccompProgram(rules: readonly SeccompRule[], arch: SeccompArch): SockFilter[] {
  const asm = new BpfAssembler();
  const retLabels = new Map<number, string>();
  const retLabel = (action: SeccompAction): string => {
    const v = actionValue(action);
    let label = retLabels.get(v);
    if (label === undefined) {
      label = `ret_${v.toString(16)}`;
      retLabels.set(v, label);
    }
    return label;
  };
  const kill = retLabel({ type: 'kill_process' });
  const allow = retLabel({ type: 'allow' });

  // Arch check must come first: syscall numbers are meaningless for another ABI.
  asm.ldAbs(SECCOMP_DATA_OFFSET.arch).jeq(AUDIT_ARCH[arch], NEXT, kill);
  asm.ldAbs(SECCOMP_DATA_OFFSET.nr);
  // x32 reuses AUDIT_ARCH_X86_64 with nr | 0x40000000; it would bypass every
  // nr comparison below. Also catches nr = -1 (nothing legitimate uses it).
  if (arch === 'x86_64') asm.jge(X32_SYSCALL_BIT, kill);

  const seen = new Set<SyscallName>();
  const conditional: { label: string; rule: SeccompRule; when: ArgCondition }[] = [];
  for (const rule of rules) {
    if (seen.has(rule.syscall)) throw new SeccompError('E_SECCOMP_POLICY', `duplicate rule for ${rule.syscall}`);
    seen.add(rule.syscall);
    const nr = syscallNumber(rule.syscall, arch);
    if (nr === undefined) continue; // e.g. iopl on aarch64
    if (rule.when === undefined) {
      asm.jeq(nr, retLabel(rule.action));
    } else {
      const label = `rule_${rule.syscall}`;
      conditional.push({ label, rule, when: rule.when });
      asm.jeq(nr, label);
    }
  }
  asm.ret(SECCOMP_RET_ALLOW);

  for (const { label, rule, when } of conditional) {
    asm.label(label).ldAbs(SECCOMP_DATA_OFFSET.argLow(when.arg));
    const act = retLabel(rule.action);
    switch (when.op) {
      case 'maskAny':
        asm.jset(when.mask, act, allow);
        break;
      case 'in':
        for (const v of when.values) asm.jeq(v, act);
        asm.ret(SECCOMP_RET_ALLOW);
        break;
      case 'notIn':
        for (const v of when.values) asm.jeq(v, allow);
        asm.ret(actionValue(rule.action));
        break;
      case 'nonZero':
        asm.jeq(0, NEXT, act).ldAbs(SECCOMP_DATA_OFFSET.argHigh(when.arg)).jeq(0, allow, act);
        break;
    }
  }

  for (const [value, label] of retLabels) asm.label(label).ret(value);
  return asm.assemble();
}

/** The policy as `struct sock_filter[]` bytes, ready for `bwrap --seccomp FD`. */
export function compileSeccompFilter(options: CompileSeccompOptions = {}): Buffer {
  const arch = resolveArch(options.arch);
  return serialize(compileSeccompProgram(buildSeccompPolicy(options), arch));
}

export interface SeccompRuleDescription {
  syscall: SyscallName;
  /** e.g. 'EPERM', 'ENOSYS' */
  result: string;
  /** Human-readable condition on the arguments, or 'always'. */
  when: string;
  reason: string;
}

export interface SeccompPolicyDescription {
  arch: SeccompArch;
  defaultAction: 'allow';
  /** Syscalls that always fail with EPERM. */
  denied: SyscallName[];
  /** Argument-dependent rules and rules with another result (clone3 -> ENOSYS). */
  conditional: SeccompRuleDescription[];
  /** What kills the whole process with SIGSYS. */
  killed: string[];
}

const ERRNO_NAMES: Readonly<Record<number, string>> = { 1: 'EPERM', 38: 'ENOSYS' };

function describeAction(action: SeccompAction): string {
  switch (action.type) {
    case 'allow':
      return 'ALLOW';
    case 'kill_process':
      return 'KILL_PROCESS';
    case 'errno':
      return ERRNO_NAMES[action.errno] ?? `errno ${action.errno}`;
  }
}

const hex = (n: number): string => `0x${n.toString(16)}`;

function describeCondition(c: ArgCondition): string {
  const arg = `(u32)arg${c.arg}`;
  switch (c.op) {
    case 'maskAny':
      return `${arg} & ${hex(c.mask)}`;
    case 'in':
      return `${arg} in {${c.values.map(hex).join(', ')}}`;
    case 'notIn':
      return `${arg} not in {${c.values.map(hex).join(', ')}}`;
    case 'nonZero':
      return `arg${c.arg} != 0 (all 64 bits)`;
  }
}

/** For `pybox doctor` and docs: what the compiled filter denies on `arch`. */
export function describeSeccompPolicy(options: CompileSeccompOptions = {}): SeccompPolicyDescription {
  const arch = resolveArch(options.arch);
  const rules = buildSeccompPolicy(options).filter((r) => syscallNumber(r.syscall, arch) !== undefined);
  const isPlainEperm = (r: SeccompRule): boolean => r.when === undefined && r.action.type === 'errno' && r.action.errno === 1;
  return {
    arch,
    defaultAction: 'allow',
    denied: rules.filter(isPlainEperm).map((r) => r.syscall),
    conditional: rules
      .filter((r) => !isPlainEperm(r))
      .map((r) => ({
        syscall: r.syscall,
        result: describeAction(r.action),
        when: r.when === undefined ? 'always' : describeCondition(r.when),
        reason: r.reason,
      })),
    killed: [
      `any syscall whose seccomp_data.arch is not AUDIT_ARCH_${arch.toUpperCase()} (${hex(AUDIT_ARCH[arch])})`,
      ...(arch === 'x86_64' ? [`x32 ABI syscalls (nr >= ${hex(X32_SYSCALL_BIT)})`] : []),
    ],
  };
}
