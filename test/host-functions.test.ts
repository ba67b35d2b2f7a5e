/**
 * Host functions: the one door out of the jail a caller opens. Every JSON type both ways,
 * errors both ways, each limit, names that do not exist, sessions, every run path; and a
 * program that floods the door or forges its frames never blocks or crashes the host: the
 * run ends with a clear status.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeHostResult, hostFunctionNameProblem } from '../src/core/host-functions.js';
import { callFrameSchema, encodeReturn, parseCallFrame } from '../src/guest/host-call-frames.js';
import { marshal } from '../src/guest/marshal.js';
import { lengthPrefixed } from '../src/guest/protocol.js';
import type { RunResult } from '../src/index.js';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';
import { rejectsWith } from './helpers/errors.js';
import { allowlistedFetch, hostFiles, keyValueStore } from '../examples/host-functions.js';

const uncaught: unknown[] = [];
const onUncaught = (error: unknown) => void uncaught.push(error);
beforeAll(() => {
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
});
afterAll(() => {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUncaught);
  expect(uncaught).toEqual([]);
});

const LIMITS = { timeoutMs: 20_000, cpuMs: 10_000 };
const echo = (x: unknown) => x;
const add = (a: number, b: number) => a + b;

function ok(r: RunResult): RunResult {
  expect(r.stderr).toBe('');
  expect(r.status).toBe('ok');
  return r;
}

/** Writes a forged frame on fd 4 (CTRL_OUT) as the guest's own code can. */
const FORGE = `
import os
def forge(payload, flag=True, size=None):
    n = len(payload) if size is None else size
    os.write(4, ((n | 0x80000000) if flag else n).to_bytes(4, "big") + payload)
`;

describe('names and values (no jail)', () => {
  it('takes Python identifiers that are no keyword, builtin or pybox name', () => {
    for (const good of ['add', 'kv_get', 'fetch2', 'Lookup', 'x']) expect(hostFunctionNameProblem(good)).toBeNull();
    for (const bad of ['', '_x', '__import__', '__init__', '2x', 'a-b', 'a b', 'é', 'x'.repeat(65), 'class', 'None', 'match', 'print', 'len', 'open', 'input', 'exec', 'pybox', 'host', 'HostError', 'display']) {
      expect(hostFunctionNameProblem(bad), bad).not.toBeNull();
    }
  });

  it('refuses a result that is not JSON rather than change it', () => {
    expect(encodeHostResult(undefined)).toEqual({ ok: true, json: 'null' });
    expect(encodeHostResult({ a: [1, 'x', null, true, 2.5] })).toEqual({ ok: true, json: '{"a":[1,"x",null,true,2.5]}' });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const bad of [NaN, Infinity, 10n, new Map(), new Date(), () => 1, Symbol('s'), [undefined], cyclic, Object.create({ inherited: 1 })]) {
      expect(encodeHostResult(bad).ok, String(typeof bad)).toBe(false);
    }
  });

  it('reads call frames exactly as the schema does', () => {
    const frame = fc.oneof(
      fc.record({ t: fc.constantFrom('call', 'ret', 'x'), id: fc.oneof(fc.integer(), fc.double(), fc.string()), name: fc.string({ maxLength: 70 }), args: fc.oneof(fc.array(fc.jsonValue({ maxDepth: 2 })), fc.jsonValue()) }, { requiredKeys: [] }),
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({ t: fc.constant('call'), id: fc.nat(), name: fc.constant('add'), args: fc.constant([1]), extra: fc.nat() }),
    );
    fc.assert(
      fc.property(frame, (value) => {
        const text = JSON.stringify(value) ?? 'null';
        const schema = callFrameSchema.safeParse(JSON.parse(text));
        const hand = parseCallFrame(Buffer.from(text));
        expect(hand).toEqual(schema.success ? schema.data : null);
      }),
      { numRuns: 500 },
    );
  });

  it('builds answers Python reads back as the marshal of the same dict', () => {
    const samples = fc.sample(fc.tuple(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.boolean(), fc.string({ unit: 'grapheme', maxLength: 200 })), 300);
    const pairs = samples.map(([id, good, text]) => [
      encodeReturn(id, good ? { ok: true, json: text } : { ok: false, error: text }).toString('hex'),
      lengthPrefixed(marshal(good ? { t: 'ret', id, ok: true, value: text } : { t: 'ret', id, ok: false, error: text })).toString('hex'),
    ]);
    const check = 'import json, marshal, sys\nfor a, b in json.load(sys.stdin):\n    a, b = bytes.fromhex(a), bytes.fromhex(b)\n    assert int.from_bytes(a[:4], "big") == len(a) - 4\n    assert marshal.loads(a[4:]) == marshal.loads(b[4:]), (a, b)\nprint(len(sys.argv))';
    expect(execFileSync('/usr/bin/python3', ['-I', '-c', check], { input: JSON.stringify(pairs) }).toString()).toBe('1\n');
  });
});

describe.each(PATHS)('host functions, path %s', (path) => {
  const { sandbox } = sandboxesForBlock({ sandbox: { mode: path, limits: LIMITS, pool: { size: 1, max: 2 } } });

  it('calls a function by name in __main__ and in pybox.host, and every JSON type comes back as it went', async () => {
    const seen: unknown[] = [];
    const r = ok(
      await sandbox.run(
        `
from pybox import host, HostError
import pybox
values = [None, True, False, 0, -7, 2**53 - 1, -(2**53 - 1), 1.5, -0.25, 1e300, "", "héllo ✓ 🐍 \\u0000 \\n", [], {}, [1, [2, [3, {"a": None}]]], {"k": {"nested": [True, 2.5, "x"]}, "": 1}]
for v in values:
    back = echo(v)
    assert back == v and type(back) is type(v), (v, back)
    assert host.echo(v) == v
assert add(2, 3) == 5 and host.add(2.5, 0.5) == 3
assert echo((1, "t")) == [1, "t"]          # a tuple goes as a list
assert echo(2.0) == 2 and type(echo(2.0)) is int  # JavaScript has one number type
assert pybox.HostError is HostError and issubclass(HostError, Exception)
print("ok")
`,
        { functions: { echo: (x: unknown) => (seen.push(x), x), add } },
      ),
    );
    expect(r.stdout).toBe('ok\n');
    expect(seen).toContainEqual({ k: { nested: [true, 2.5, 'x'] }, '': 1 });
    expect(seen).toContainEqual('héllo ✓ 🐍 \u0000 \n');
    expect(seen).toContainEqual(2 ** 53 - 1);
  });

  it('a JS throw or rejection is a HostError with its message, and the program goes on', async () => {
    const r = ok(
      await sandbox.run(
        `
from pybox import HostError
for f in (boom, reject, throws_string):
    try:
        f(1)
    except HostError as e:
        print(type(e).__module__, type(e).__name__, e)
print(later())
`,
        {
          functions: {
            boom: () => {
              throw new Error('no such key: 1');
            },
            reject: async () => Promise.reject(new TypeError('it went wrong')),
            throws_string: () => {
              throw 'plain string';
            },
            later: async () => {
              await new Promise((r) => setImmediate(r));
              return 'after';
            },
          },
        },
      ),
    );
    expect(r.stdout).toBe('pybox HostError no such key: 1\npybox HostError it went wrong\npybox HostError plain string\nafter\n');
  });

  it('a name not registered for this run does not exist', async () => {
    const r = ok(
      await sandbox.run(
        `
import pybox
try:
    nope()
except NameError as e:
    print("NameError", e)
try:
    pybox.host.nope
except AttributeError:
    print("AttributeError")
print(sorted(n for n in dir(pybox.host) if not n.startswith("_")))
`,
        { functions: { add } },
      ),
    );
    expect(r.stdout).toBe("NameError name 'nope' is not defined\nAttributeError\n['add']\n");
    const bare = ok(await sandbox.run('import pybox\nprint([n for n in dir(pybox.host) if not n.startswith("_")])\ntry:\n    add(1, 2)\nexcept NameError:\n    print("none")'));
    expect(bare.stdout).toBe('[]\nnone\n');
  });

  it('a session calls them from every cell, each cell with its own hostCalls', async () => {
    const calls: number[] = [];
    const s = await sandbox.openSession({ functions: { add: (a: number, b: number) => (calls.push(a), a + b) }, limits: { hostCalls: 2 } });
    try {
      expect((await s.run('add(1, 1)')).value).toEqual({ text: '2' });
      expect((await s.run('from pybox import host\nhost.add(2, 2)')).value).toEqual({ text: '4' });
      const third = await s.run('from pybox import HostError\ntry:\n    add(3, 3)\nexcept HostError as e:\n    print(e)');
      expect(third.stdout).toBe('');
      const over = await s.run('add(4, 4); add(5, 5)\ntry:\n    add(6, 6)\nexcept HostError as e:\n    print(e)');
      expect(over.stdout).toMatch(/host call limit reached \(hostCalls: 2\)/);
      expect(calls).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await s.close();
    }
  });
});

describe('host functions: values, limits and floods (zygote)', () => {
  const { sandbox } = sandboxesForBlock({ sandbox: { mode: 'zygote', limits: LIMITS, pool: { size: 1, max: 2 } } });

  it('a value that is not JSON is a TypeError in Python, before the call leaves', async () => {
    let called = 0;
    const r = ok(
      await sandbox.run(
        `
import math
bad = [2**53, -(2**53), 10**30, float("nan"), math.inf, -math.inf, b"x", {1, 2}, {1: "int key"}, {("t",): 1}, object(), 1j, [[[[[[range(3)]]]]]]]
deep = []
for _ in range(150):
    deep = [deep]
bad.append(deep)
for v in bad:
    try:
        echo(v)
        print("passed", repr(v)[:20])
    except TypeError as e:
        pass
print("done")
`,
        { functions: { echo: (x: unknown) => (called++, x) } },
      ),
    );
    expect(r.stdout).toBe('done\n');
    expect(called).toBe(0);
  });

  it('hostCallTimeoutMs: a call that does not answer in time is a HostError "timed out", and the run goes on', async () => {
    let release: () => void = () => undefined;
    const r = ok(
      await sandbox.run('from pybox import HostError\ntry:\n    hang()\nexcept HostError as e:\n    print(e)\nprint(add(1, 2))', {
        functions: { hang: () => new Promise<void>((resolve) => (release = resolve)), add },
        limits: { hostCallTimeoutMs: 300 },
      }),
    );
    release();
    expect(r.stdout).toBe('host function hang timed out after 300 ms (hostCallTimeoutMs)\n3\n');
  });

  it('hostCalls: the call past the limit is a HostError, and the host function is not called', async () => {
    let calls = 0;
    const r = ok(
      await sandbox.run('from pybox import HostError\nfor i in range(5):\n    try:\n        print(add(i, 0))\n    except HostError as e:\n        print(e)', {
        functions: { add: (a: number, b: number) => (calls++, a + b) },
        limits: { hostCalls: 3 },
      }),
    );
    expect(r.stdout).toBe('0\n1\n2\nhost call limit reached (hostCalls: 3)\nhost call limit reached (hostCalls: 3)\n');
    expect(calls).toBe(3);
  });

  it('hostCallBytes bounds the arguments (before they leave) and the result', async () => {
    let calls = 0;
    const r = ok(
      await sandbox.run(
        `
from pybox import HostError
print(len(echo("x" * 1000)))
for f, arg in ((echo, "x" * 5000), (big, 1)):
    try:
        f(arg)
    except HostError as e:
        print(e)
`,
        { functions: { echo: (x: string) => (calls++, x), big: () => 'y'.repeat(5000) }, limits: { hostCallBytes: 4096 } },
      ),
    );
    expect(r.stdout).toBe('1000\necho(): its arguments are 5004 bytes of JSON; the limit (hostCallBytes) is 4096\nthe result of big is 5002 bytes of JSON; the limit (hostCallBytes) is 4096\n');
    expect(calls).toBe(1);
  });

  it('a result that is not JSON is a HostError', async () => {
    const r = ok(await sandbox.run('from pybox import HostError\ntry:\n    f()\nexcept HostError as e:\n    print(e)', { functions: { f: () => new Map() } }));
    expect(r.stdout).toBe("the host function's result is not JSON: a Map\n");
  });

  it('large values cross whole, up to the limit', async () => {
    const r = ok(await sandbox.run('s = echo("é" * 400_000)\nprint(len(s), s == "é" * 400_000)', { functions: { echo } }));
    expect(r.stdout).toBe('400000 True\n');
  });

  it('threads spamming calls are served one at a time, and the run ends ok', async () => {
    let inFlight = 0;
    let most = 0;
    const r = ok(
      await sandbox.run(
        `
import threading
from pybox import HostError
counts = []
def spam():
    n = 0
    for i in range(300):
        try:
            slow(i); n += 1
        except HostError:
            pass
    counts.append(n)
ts = [threading.Thread(target=spam) for _ in range(4)]
for t in ts: t.start()
for t in ts: t.join()
print(sum(counts))
`,
        {
          functions: {
            slow: async (i: number) => {
              most = Math.max(most, ++inFlight);
              await new Promise((r) => setImmediate(r));
              inFlight--;
              return i;
            },
          },
          limits: { hostCalls: 1000 },
        },
      ),
    );
    expect(r.stdout).toBe('1000\n');
    expect(most).toBe(1);
  });

  const forged: [string, string][] = [
    ['a call of a name the run did not register', 'forge(b\'{"t":"call","id":1,"name":"secret","args":[]}\')'],
    ['a call frame that is not JSON', "forge(b'{not json')"],
    ['a call frame of the wrong shape', 'forge(b\'{"t":"call","id":-1,"name":"add","args":{}}\')'],
    ['a call frame longer than hostCallBytes allows', 'forge(b"x" * 16, size=1 << 30)'],
    ['a second call before the answer', 'forge(b\'{"t":"call","id":1,"name":"hang","args":[]}\'); forge(b\'{"t":"call","id":2,"name":"add","args":[1,2]}\')'],
    ['a control frame that is not JSON', "forge(b'garbage!', flag=False)"],
  ];
  it.each(forged)('%s ends the run (killed), and the host says why', async (_, code) => {
    let release: () => void = () => undefined;
    const r = await sandbox.run(`${FORGE}\n${code}\nimport time\ntime.sleep(30)`, {
      functions: { add, hang: () => new Promise<void>((resolve) => (release = resolve)) },
    });
    release();
    expect(r.status).toBe('killed');
    expect(r.signal).toBe('SIGKILL');
    expect(r.stderr).toMatch(/pybox: the run was ended: the program broke the host-call protocol \(.+\)\n$/);
  });

  it('a forged call of a registered name is answered, and the program\'s own calls still get theirs', async () => {
    const r = ok(await sandbox.run(`${FORGE}\nforge(b'{"t":"call","id":77,"name":"add","args":[40,2]}')\nimport time\ntime.sleep(0.2)\nprint(add(1, 2), add(3, 4))`, { functions: { add } }));
    expect(r.stdout).toBe('3 7\n');
  });

  it('a call frame in a run without host functions is refused at its header; the run goes on', async () => {
    const r = await sandbox.run(`${FORGE}\nforge(b'{"t":"call","id":1,"name":"add","args":[1,2]}')\nprint("still here")`);
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('still here\n');
  });

  it('in a session, an interrupted call leaves its answer owed: the next call reads it first', async () => {
    let release: () => void = () => undefined;
    let called: () => void = () => undefined;
    const inFlight = new Promise<void>((r) => (called = r));
    const hang = () => {
      called();
      return new Promise<string>((resolve) => (release = () => resolve('late')));
    };
    const s = await sandbox.openSession({ functions: { hang, add } });
    try {
      const cell = s.run('hang()');
      await inFlight;
      await s.interrupt();
      expect((await cell).status).toBe('interrupted');
      release();
      expect((await s.run('add(20, 22)')).value).toEqual({ text: '42' });
    } finally {
      await s.close();
    }
  });

  it('in a session, a forged frame ends the session', async () => {
    const s = await sandbox.openSession({ functions: { add } });
    const r = await s.run(`${FORGE}\nforge(b'{"t":"call","id":1,"name":"secret","args":[]}')\nimport time\ntime.sleep(30)`);
    expect(r.status).toBe('killed');
    expect(s.alive).toBe(false);
    await s.close();
  });

  it('functions are checked when the run or session is asked for (E_OPTIONS_INVALID)', async () => {
    for (const functions of [{ print: add }, { __x__: add }, { class: add }, { 'a-b': add }, { ok: 42 }, []] as unknown[]) {
      await rejectsWith(sandbox.run('pass', { functions } as never), 'E_OPTIONS_INVALID');
      await rejectsWith(sandbox.openSession({ functions } as never), 'E_OPTIONS_INVALID');
    }
    const s = await sandbox.openSession();
    await rejectsWith(s.run('pass', { functions: { add } } as never), 'E_OPTIONS_INVALID');
    await s.close();
    await rejectsWith(sandbox.run('pass', { limits: { hostCalls: -1 } }), 'E_LIMIT_INVALID');
  });
});

describe('the uses in docs/host-functions.md (examples/host-functions.ts)', () => {
  const { sandbox } = sandboxesForBlock({ sandbox: { mode: 'zygote', limits: LIMITS, pool: { size: 1, max: 2 } } });
  let server: Server;
  let origin = '';
  const hits: string[] = [];
  let shared = '';
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/away') res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end();
      else res.end(JSON.stringify({ path: req.url }));
    }).listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    shared = mkdtempSync(join(tmpdir(), 'pybox-hostfn-'));
    mkdirSync(join(shared, 'docs'));
    writeFileSync(join(shared, 'docs', 'a.txt'), 'alpha');
    writeFileSync(join(shared, '..', `${shared.split('/').pop()}-secret`), 'secret');
    symlinkSync(join(shared, '..', `${shared.split('/').pop()}-secret`), join(shared, 'link'));
  });
  afterAll(() => {
    server.close();
    rmSync(`${shared}-secret`, { force: true });
    rmSync(shared, { recursive: true, force: true });
  });

  it('a key-value store outlives the run that wrote it', async () => {
    const store = new Map<string, unknown>();
    ok(await sandbox.run('kv_set("user", {"name": "ada", "langs": ["py"]})', { functions: keyValueStore(store) }));
    expect(store.get('user')).toEqual({ name: 'ada', langs: ['py'] });
    const r = ok(await sandbox.run('print(kv_get("user")["name"], kv_get("missing"), kv_keys())', { functions: keyValueStore(store) }));
    expect(r.stdout).toBe("ada None ['user']\n");
  });

  it('an HTTP GET the host makes only to allowed origins (a loopback server here)', async () => {
    hits.length = 0;
    const r = ok(
      await sandbox.run(
        `
import json
from pybox import HostError
print(json.loads(http_get("${origin}/data?x=1")["body"]))
print(http_get("${origin}/away")["status"])
for url in ("http://localhost:1/", "${origin.replace('127.0.0.1', 'user:pw@127.0.0.1')}/", "file:///etc/passwd", "not a url"):
    try:
        http_get(url)
    except HostError as e:
        print("refused")
`,
        { functions: allowlistedFetch([origin]) },
      ),
    );
    expect(r.stdout).toBe("{'path': '/data?x=1'}\n302\nrefused\nrefused\nrefused\nrefused\n");
    expect(hits).toEqual(['/data?x=1', '/away']);
  });

  it("reads files from the host's storage, inside the shared directory only", async () => {
    const r = ok(
      await sandbox.run(
        `
from pybox import HostError
print(read_host_file("docs/a.txt"))
for p in ("../${shared.split('/').pop()}-secret", "/etc/passwd", "link", "docs/../../x", "nope.txt"):
    try:
        read_host_file(p)
        print("READ", p)
    except HostError as e:
        print("refused")
`,
        { functions: hostFiles(shared) },
      ),
    );
    expect(r.stdout).toBe('alpha\nrefused\nrefused\nrefused\nrefused\nrefused\n');
  });
});
