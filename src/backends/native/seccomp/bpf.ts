// A tiny classic-BPF assembler: just the opcodes a seccomp filter needs.
// We emit `struct sock_filter` ourselves instead of depending on libseccomp,
// so the whole policy stays in TypeScript and can be unit-tested byte for byte.

/** Opcode fields from <linux/bpf_common.h>. */
export const BPF = {
  // instruction classes
  LD: 0x00,
  ALU: 0x04,
  JMP: 0x05,
  RET: 0x06,
  // ld size / mode
  W: 0x00,
  ABS: 0x20,
  // alu / jmp operations
  AND: 0x50,
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  // source operand
  K: 0x00,
} as const;

/** Kernel limit (BPF_MAXINSNS); longer programs are rejected with EINVAL. */
export const BPF_MAXINSNS = 4096;
/** jt/jf are u8 offsets; anything further needs a JA (u32 offset) trampoline. */
export const MAX_COND_JUMP = 255;
/** sizeof(struct sock_filter) */
export const SOCK_FILTER_SIZE = 8;

/** One `struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }`. */
export interface SockFilter {
  readonly code: number;
  readonly jt: number;
  readonly jf: number;
  readonly k: number;
}

export class BpfError extends Error {
  readonly code = 'E_BPF_ASSEMBLE' as const;
  constructor(message: string) {
    super(message);
    this.name = 'BpfError';
  }
}

function u32(k: number): number {
  if (!Number.isInteger(k) || k < 0 || k > 0xffffffff) throw new BpfError(`constant out of u32 range: ${k}`);
  return k;
}

// ---- raw instruction constructors (offsets already resolved) ----

export function stmt(code: number, k: number): SockFilter {
  return { code, jt: 0, jf: 0, k: u32(k) };
}

export function jump(code: number, k: number, jt: number, jf: number): SockFilter {
  for (const off of [jt, jf]) {
    if (!Number.isInteger(off) || off < 0 || off > MAX_COND_JUMP) throw new BpfError(`jump offset out of range: ${off}`);
  }
  return { code, jt, jf, k: u32(k) };
}

/** A = *(u32 *)(seccomp_data + offset) */
export const ldAbsW = (offset: number): SockFilter => stmt(BPF.LD | BPF.W | BPF.ABS, offset);
/** A &= k */
export const aluAndK = (k: number): SockFilter => stmt(BPF.ALU | BPF.AND | BPF.K, k);
/** return k (the seccomp action) */
export const retK = (k: number): SockFilter => stmt(BPF.RET | BPF.K, k);
/** pc += k (unconditional, forward only) */
export const ja = (k: number): SockFilter => stmt(BPF.JMP | BPF.JA, k);
export const jeqK = (k: number, jt: number, jf: number): SockFilter => jump(BPF.JMP | BPF.JEQ | BPF.K, k, jt, jf);
export const jgeK = (k: number, jt: number, jf: number): SockFilter => jump(BPF.JMP | BPF.JGE | BPF.K, k, jt, jf);
export const jsetK = (k: number, jt: number, jf: number): SockFilter => jump(BPF.JMP | BPF.JSET | BPF.K, k, jt, jf);

// ---- assembler with labels ----

/** Jump target meaning "fall through to the next instruction". */
export const NEXT: unique symbol = Symbol('next');
export type JumpTarget = string | typeof NEXT;

type CondOp = 'jeq' | 'jge' | 'jset';
const COND_CODE: Record<CondOp, number> = {
  jeq: BPF.JMP | BPF.JEQ | BPF.K,
  jge: BPF.JMP | BPF.JGE | BPF.K,
  jset: BPF.JMP | BPF.JSET | BPF.K,
};

type Item =
  | { readonly kind: 'insn'; readonly insn: SockFilter }
  | { readonly kind: 'cond'; readonly code: number; readonly k: number; readonly jt: JumpTarget; readonly jf: JumpTarget }
  | { readonly kind: 'ja'; readonly target: string }
  | { readonly kind: 'label'; readonly name: string };

/**
 * Builds a program from instructions and named labels. Jumps may only go
 * forward (the kernel rejects loops). A conditional jump whose target ends up
 * more than 255 instructions away is rewritten as
 *   Jxx jt=0,jf=1 ; JA <true target> ; JA <false target>
 * and layout is recomputed until it is stable (expansion only grows the
 * program, so this terminates).
 */
export class BpfAssembler {
  private readonly items: Item[] = [];

  label(name: string): this {
    this.items.push({ kind: 'label', name });
    return this;
  }
  ldAbs(offset: number): this {
    return this.insn(ldAbsW(offset));
  }
  andK(k: number): this {
    return this.insn(aluAndK(k));
  }
  ret(k: number): this {
    return this.insn(retK(k));
  }
  ja(target: string): this {
    this.items.push({ kind: 'ja', target });
    return this;
  }
  jeq(k: number, jt: JumpTarget, jf: JumpTarget = NEXT): this {
    return this.cond('jeq', k, jt, jf);
  }
  jge(k: number, jt: JumpTarget, jf: JumpTarget = NEXT): this {
    return this.cond('jge', k, jt, jf);
  }
  jset(k: number, jt: JumpTarget, jf: JumpTarget = NEXT): this {
    return this.cond('jset', k, jt, jf);
  }
  insn(insn: SockFilter): this {
    this.items.push({ kind: 'insn', insn });
    return this;
  }

  private cond(op: CondOp, k: number, jt: JumpTarget, jf: JumpTarget): this {
    this.items.push({ kind: 'cond', code: COND_CODE[op], k: u32(k), jt, jf });
    return this;
  }

  assemble(): SockFilter[] {
    const expanded = new Set<number>(); // indexes of 'cond' items needing trampolines
    for (;;) {
      const { pos, labels, length } = this.layout(expanded);
      // Offset from the instruction at `from` to `t`; NEXT means `next`, the
      // first instruction after the whole (possibly expanded) item.
      const target = (t: JumpTarget, from: number, next: number): number => {
        const at = t === NEXT ? next : labels.get(t);
        if (at === undefined) throw new BpfError(`undefined label: ${String(t)}`);
        if (at >= length) throw new BpfError(`label ${String(t)} points past the end of the program`);
        const off = at - (from + 1);
        if (off < 0) throw new BpfError(`backward jump to ${String(t)} (BPF allows forward jumps only)`);
        return off;
      };
      let grew = false;
      const out: SockFilter[] = [];
      this.items.forEach((item, i) => {
        const p = pos[i] ?? 0;
        switch (item.kind) {
          case 'label':
            return;
          case 'insn':
            out.push(item.insn);
            return;
          case 'ja':
            out.push(ja(target(item.target, p, p + 1)));
            return;
          case 'cond': {
            if (expanded.has(i)) {
              out.push(jump(item.code, item.k, 0, 1));
              out.push(ja(target(item.jt, p + 1, p + 3)));
              out.push(ja(target(item.jf, p + 2, p + 3)));
              return;
            }
            const jt = target(item.jt, p, p + 1);
            const jf = target(item.jf, p, p + 1);
            if (jt > MAX_COND_JUMP || jf > MAX_COND_JUMP) {
              expanded.add(i);
              grew = true;
              return;
            }
            out.push(jump(item.code, item.k, jt, jf));
            return;
          }
        }
      });
      if (grew) continue;
      if (out.length === 0) throw new BpfError('empty program');
      if (out.length > BPF_MAXINSNS) throw new BpfError(`program too long: ${out.length} > ${BPF_MAXINSNS}`);
      const last = out[out.length - 1];
      if (last === undefined || (last.code & 0x07) !== BPF.RET) throw new BpfError('program must end with RET');
      return out;
    }
  }

  private layout(expanded: ReadonlySet<number>): { pos: number[]; labels: Map<string, number>; length: number } {
    const pos: number[] = [];
    const labels = new Map<string, number>();
    let pc = 0;
    this.items.forEach((item, i) => {
      pos.push(pc);
      if (item.kind === 'label') {
        if (labels.has(item.name)) throw new BpfError(`duplicate label: ${item.name}`);
        labels.set(item.name, pc);
      } else {
        pc += item.kind === 'cond' && expanded.has(i) ? 3 : 1;
      }
    });
    return { pos, labels, length: pc };
  }
}

// ---- (de)serialisation ----

/** Host-order `struct sock_filter[]`; both supported arches are little-endian. */
export function serialize(program: readonly SockFilter[]): Buffer {
  const buf = Buffer.alloc(program.length * SOCK_FILTER_SIZE);
  program.forEach((ins, i) => {
    const o = i * SOCK_FILTER_SIZE;
    buf.writeUInt16LE(ins.code, o);
    buf.writeUInt8(ins.jt, o + 2);
    buf.writeUInt8(ins.jf, o + 3);
    buf.writeUInt32LE(ins.k, o + 4);
  });
  return buf;
}

export function decode(buf: Buffer): SockFilter[] {
  if (buf.length % SOCK_FILTER_SIZE !== 0) throw new BpfError(`length ${buf.length} is not a multiple of ${SOCK_FILTER_SIZE}`);
  const out: SockFilter[] = [];
  for (let o = 0; o < buf.length; o += SOCK_FILTER_SIZE) {
    out.push({ code: buf.readUInt16LE(o), jt: buf.readUInt8(o + 2), jf: buf.readUInt8(o + 3), k: buf.readUInt32LE(o + 4) });
  }
  return out;
}
