/**
 * Host functions, three ways (docs/host-functions.md): a key-value store, an HTTP fetch the
 * host makes for the program against an allowlist, and files read from the host's storage
 * with the path checked. Run it after `npm run build`: node dist/examples/host-functions.js
 */
import { readFile, realpath } from 'node:fs/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sandbox, type HostFunctions } from '../src/index.js';

/** A key-value store the program reads and writes; values are whatever JSON it sends. */
export function keyValueStore(store = new Map<string, unknown>()): HostFunctions {
  return {
    kv_get: (key: string) => store.get(key) ?? null,
    kv_set: (key: string, value: unknown) => void store.set(key, value),
    kv_keys: () => [...store.keys()],
  };
}

/**
 * GET on the program's behalf, only to origins on the allowlist (an exact origin match, after
 * URL parsing, so `https://api.example.com.evil.net` or a userinfo trick does not pass);
 * redirects are not followed, the body is cut at maxBytes.
 */
export function allowlistedFetch(allowedOrigins: readonly string[], maxBytes = 256 * 1024): HostFunctions {
  const allowed = new Set(allowedOrigins.map((o) => new URL(o).origin));
  return {
    http_get: async (url: string) => {
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new Error(`not a URL: ${url}`);
      }
      if (!allowed.has(parsed.origin) || parsed.username || parsed.password) throw new Error(`${parsed.origin} is not on the allowlist`);
      const response = await fetch(parsed, { redirect: 'manual', signal: AbortSignal.timeout(5000) });
      const body = Buffer.from(await response.arrayBuffer());
      return { status: response.status, body: body.subarray(0, maxBytes).toString('utf8'), truncated: body.length > maxBytes };
    },
  };
}

/**
 * Reads text files under `root` only: the path is resolved (symlinks too) and must stay
 * inside it. A file larger than maxBytes is refused (hostCallBytes would refuse it anyway).
 */
export function hostFiles(root: string, maxBytes = 512 * 1024): HostFunctions {
  return {
    read_host_file: async (path: string) => {
      if (typeof path !== 'string' || path.includes('\0')) throw new Error('path must be a string');
      const base = await realpath(root);
      let full: string;
      try {
        full = await realpath(join(base, path));
      } catch {
        throw new Error(`no such file: ${path}`);
      }
      if (!full.startsWith(base + sep)) throw new Error(`${path} is outside the shared directory`);
      const data = await readFile(full);
      if (data.length > maxBytes) throw new Error(`${path} is ${data.length} bytes; at most ${maxBytes}`);
      return data.toString('utf8');
    },
  };
}

async function main(): Promise<void> {
  const shared = mkdtempSync(join(tmpdir(), 'pybox-example-'));
  writeFileSync(join(shared, 'notes.txt'), 'from the host\n');
  const server = createServer((_, res) => res.end('{"answer": 42}')).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address() as { port: number };

  const sandbox = await Sandbox.create();
  try {
    const result = await sandbox.run(
      `
import json
from pybox import host, HostError
kv_set("visits", kv_get("visits") or 0)
kv_set("visits", kv_get("visits") + 1)
print("visits:", kv_get("visits"), "keys:", kv_keys())
print("fetched:", json.loads(http_get("http://127.0.0.1:${port}/")["body"]))
try:
    http_get("http://localhost:1/")  # not on the allowlist: never fetched
except HostError as e:
    print("refused:", e)
print("file:", host.read_host_file("notes.txt").strip())
try:
    read_host_file("../../etc/passwd")
except HostError as e:
    print("refused:", e)
`,
      { functions: { ...keyValueStore(), ...allowlistedFetch([`http://127.0.0.1:${port}`]), ...hostFiles(shared) } },
    );
    process.stdout.write(result.stdout + result.stderr);
  } finally {
    await sandbox.close();
    server.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
