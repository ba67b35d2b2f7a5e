/**
 * A writer for Python's marshal format, for the handful of types the guest request
 * uses: None, bool, int (any size), str, bytes, list, tuple and dict. `marshal` is
 * built into CPython, so the guest decodes its request without importing json (and
 * with it re), which is most of a cold jail's Python start-up cost.
 */
export type MarshalValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | MarshalValue[]
  | { readonly tuple: readonly MarshalValue[] }
  | { [key: string]: MarshalValue };

/** Whether `v` fits marshal's 4-byte int ('i'); larger ints take TYPE_LONG. */
export const isInt32 = (v: number): boolean => Number.isInteger(v) && v >= -(2 ** 31) && v < 2 ** 31;

export function tuple(...items: MarshalValue[]): { tuple: MarshalValue[] } {
  return { tuple: items };
}

/** The one-byte type codes, made once: a cell is encoded on every run of one. */
const CODES = new Map([...'NTFil[({0us'].map((c) => [c, Buffer.from(c, 'latin1')]));

class Writer {
  private chunks: Buffer[] = [];

  byte(code: string): void {
    this.chunks.push(CODES.get(code) ?? Buffer.from(code, 'latin1'));
  }
  int32(n: number): void {
    const b = Buffer.allocUnsafe(4);
    b.writeInt32LE(n, 0);
    this.chunks.push(b);
  }
  raw(b: Uint8Array): void {
    this.chunks.push(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
  }
  done(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

function writeInt(w: Writer, value: bigint): void {
  if (value >= -(2n ** 31n) && value < 2n ** 31n) {
    w.byte('i');
    w.int32(Number(value));
    return;
  }
  // TYPE_LONG: a signed count of 15-bit digits, least significant first.
  const negative = value < 0n;
  let rest = negative ? -value : value;
  const digits: number[] = [];
  while (rest > 0n) {
    digits.push(Number(rest & 0x7fffn));
    rest >>= 15n;
  }
  w.byte('l');
  w.int32(negative ? -digits.length : digits.length);
  const b = Buffer.allocUnsafe(digits.length * 2);
  digits.forEach((d, i) => b.writeUInt16LE(d, i * 2));
  w.raw(b);
}

function write(w: Writer, value: MarshalValue): void {
  if (value === null) return w.byte('N');
  if (value === true) return w.byte('T');
  if (value === false) return w.byte('F');
  if (typeof value === 'bigint') return writeInt(w, value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`marshal: only integers are supported, got ${value}`);
    if (isInt32(value)) {
      w.byte('i'); // most ints: no detour through a BigInt
      return w.int32(value);
    }
    return writeInt(w, BigInt(value));
  }
  if (typeof value === 'string') {
    const b = Buffer.from(value, 'utf8');
    w.byte('u');
    w.int32(b.length);
    return w.raw(b);
  }
  if (value instanceof Uint8Array) {
    w.byte('s');
    w.int32(value.byteLength);
    return w.raw(value);
  }
  if (Array.isArray(value)) {
    w.byte('[');
    w.int32(value.length);
    for (const item of value) write(w, item);
    return;
  }
  if ('tuple' in value && Array.isArray(value.tuple) && Object.keys(value).length === 1) {
    const items = value.tuple as readonly MarshalValue[];
    w.byte('(');
    w.int32(items.length);
    for (const item of items) write(w, item);
    return;
  }
  w.byte('{');
  for (const [key, item] of Object.entries(value as Record<string, MarshalValue>)) {
    write(w, key);
    write(w, item);
  }
  w.byte('0');
}

export function marshal(value: MarshalValue): Buffer {
  const w = new Writer();
  write(w, value);
  return w.done();
}
