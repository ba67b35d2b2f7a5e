import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lengthPrefixed } from './protocol.js';

/**
 * The bootstrap is 20 KB of Python; compiling it costs ~7 ms on every cold jail. The
 * host compiles it once per interpreter and sends the marshalled code object in front
 * of the request on fd 3: [u32 big-endian length][marshal(code)][request...]. This stub,
 * passed with -c, reads exactly that prefix and runs it. marshal's format is specific to
 * the interpreter version, so the same interpreter compiles it.
 */
export const BOOTSTRAP_STUB =
  'import marshal,posix as os\n' +
  'def _r(n):\n' +
  " b=b''\n" +
  ' while len(b)<n:\n' +
  '  c=os.read(3,n-len(b))\n' +
  '  if not c:os._exit(70)\n' +
  '  b+=c\n' +
  ' return b\n' +
  "exec(marshal.loads(_r(int.from_bytes(_r(4),'big'))))\n";

const COMPILER =
  'import sys, marshal\n' +
  "code = compile(sys.stdin.buffer.read().decode('utf-8'), '<string>', 'exec', dont_inherit=True)\n" +
  'sys.stdout.buffer.write(marshal.dumps(code))\n';

const cache = new Map<string, Buffer | null>();

/**
 * `[length][marshal(code)]` for `python`, or null when it cannot be made (the caller
 * then passes the source with -c, as before). The code object is named `<string>`, the
 * name `-c` gives, so the bootstrap's frames are recognised in tracebacks either way.
 */
export function precompiledBootstrap(python: string, source: string): Buffer | null {
  const key = `${python}\0${createHash('sha256').update(source).digest('hex')}`;
  if (cache.has(key)) return cache.get(key) ?? null;
  let prefix: Buffer | null = null;
  try {
    const r = spawnSync(python, ['-I', '-S', '-B', '-c', COMPILER], { input: source, env: {}, timeout: 20_000, maxBuffer: 16 * 1024 * 1024 });
    if (r.status === 0 && r.stdout.length > 0) {
      prefix = lengthPrefixed(r.stdout);
    }
  } catch {
    prefix = null;
  }
  cache.set(key, prefix);
  return prefix;
}
