/**
 * API keys: one per line in a file the operator writes. A presented key is hashed and
 * compared with every known key's hash in constant time (no early exit, no length leak),
 * so response timing tells nothing about how much of a key was right.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Who made a request: `id` is safe to log (a hash prefix), never the key itself. */
export interface Principal {
  id: string;
}

export const ANONYMOUS: Principal = Object.freeze({ id: 'anonymous' });
const MIN_KEY_LENGTH = 16;

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export class ApiKeys {
  private constructor(private readonly hashes: readonly Buffer[]) {}

  /** Reads the file; throws an Error whose message is one line fit for the operator. */
  static load(file: string): ApiKeys {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new Error(`cannot read the API keys file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    return ApiKeys.fromLines(text.split('\n'), file);
  }

  static fromLines(lines: string[], where = 'the API keys'): ApiKeys {
    const keys = lines.map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
    if (keys.length === 0) throw new Error(`${where} holds no key (one key per line; # starts a comment)`);
    for (const [i, key] of keys.entries()) {
      if (key.length < MIN_KEY_LENGTH || /\s/.test(key)) throw new Error(`${where}: key ${i + 1} must be at least ${MIN_KEY_LENGTH} characters without spaces`);
    }
    return new ApiKeys([...new Set(keys)].map(sha256));
  }

  get size(): number {
    return this.hashes.length;
  }

  /** The principal of an `Authorization` header's value, or null when it names no known key. */
  authenticate(header: string | undefined): Principal | null {
    const match = /^Bearer ([^\s]{1,1024})$/.exec(header ?? '');
    const presented = sha256(match?.[1] ?? '');
    let found: Buffer | null = null;
    for (const hash of this.hashes) {
      if (timingSafeEqual(hash, presented) && match) found = hash;
    }
    return found ? { id: `key-${found.toString('hex').slice(0, 12)}` } : null;
  }
}
