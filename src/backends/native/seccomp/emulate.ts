// Minimal classic-BPF interpreter over `struct seccomp_data`, covering exactly
// the opcodes our assembler emits. It lets tests (and `pybox doctor`) check a
// filter for an arch this host cannot execute, e.g. aarch64 on x86_64.

import { BPF, BpfError, type SockFilter } from './bpf.js';

export interface SeccompData {
  nr: number;
  arch: number;
  instructionPointer?: bigint;
  /** Up to six syscall arguments as unsigned 64-bit values. */
  args?: readonly bigint[];
}

/** Serialise `struct seccomp_data` (little-endian: both supported arches are LE). */
export function seccompDataBytes(d: SeccompData): Buffer {
  const buf = Buffer.alloc(64);
  buf.writeUInt32LE(d.nr >>> 0, 0); // int nr, read as u32 by BPF
  buf.writeUInt32LE(d.arch >>> 0, 4);
  buf.writeBigUInt64LE(BigInt.asUintN(64, d.instructionPointer ?? 0n), 8);
  (d.args ?? []).slice(0, 6).forEach((a, i) => buf.writeBigUInt64LE(BigInt.asUintN(64, a), 16 + 8 * i));
  return buf;
}

/** Run the filter and return the 32-bit seccomp action it yields. */
export function runFilter(program: readonly SockFilter[], data: SeccompData): number {
  const mem = seccompDataBytes(data);
  let a = 0;
  for (let pc = 0; pc < program.length; pc++) {
    const ins = program[pc];
    if (ins === undefined) break;
    switch (ins.code) {
      case BPF.LD | BPF.W | BPF.ABS:
        // The kernel's checker only allows aligned 4-byte loads inside seccomp_data.
        if (ins.k % 4 !== 0 || ins.k + 4 > mem.length) throw new BpfError(`bad load offset ${ins.k} at pc ${pc}`);
        a = mem.readUInt32LE(ins.k);
        break;
      case BPF.ALU | BPF.AND | BPF.K:
        a = (a & ins.k) >>> 0;
        break;
      case BPF.JMP | BPF.JA:
        pc += ins.k;
        break;
      case BPF.JMP | BPF.JEQ | BPF.K:
        pc += a === ins.k ? ins.jt : ins.jf;
        break;
      case BPF.JMP | BPF.JGE | BPF.K:
        pc += a >= ins.k ? ins.jt : ins.jf;
        break;
      case BPF.JMP | BPF.JGT | BPF.K:
        pc += a > ins.k ? ins.jt : ins.jf;
        break;
      case BPF.JMP | BPF.JSET | BPF.K:
        pc += (a & ins.k) !== 0 ? ins.jt : ins.jf;
        break;
      case BPF.RET | BPF.K:
        return ins.k >>> 0;
      default:
        throw new BpfError(`unsupported opcode 0x${ins.code.toString(16)} at pc ${pc}`);
    }
  }
  throw new BpfError('fell off the end of the program');
}
