/**
 * Rich output: display() and the IPython protocol, matplotlib figures (left open, or
 * plt.show()) as real PNGs, their place in stdout, a session value's bundle, the
 * displayBytes and output-count limits, forged display frames, onDisplay and the CLI.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_OUTPUTS, type DisplayOutput } from '../src/index.js';
import { DisplayCollector } from '../src/guest/display-frames.js';
import { pybox } from './helpers/cli.js';
import { decodePng } from './helpers/png.js';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';

/** matplotlib and pandas are Debian's optional packages (README, set-up). */
const dataStack = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-I', '-c', 'import pandas, matplotlib'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

const LIMITS = { timeoutMs: 60_000, cpuMs: 30_000, memoryMiB: 512 };
const py = (...lines: string[]) => lines.join('\n');
const types = (o: DisplayOutput) => Object.keys(o.data).sort();

/** A class with every _repr_* IPython knows (PNG and JPEG as bytes, JSON as a dict). */
const EVERY_REPR = py(
  'class Every:',
  '    def _repr_html_(self): return "<b>html</b>"',
  '    def _repr_markdown_(self): return "**md**"',
  '    def _repr_svg_(self): return "<svg xmlns=\\"http://www.w3.org/2000/svg\\"/>"',
  '    def _repr_png_(self): return b"\\x89PNG fake"',
  '    def _repr_jpeg_(self): return b"\\xff\\xd8 fake"',
  '    def _repr_json_(self): return {"a": [1, 2]}',
  '    def _repr_latex_(self): return "$x^2$"',
  '    def __repr__(self): return "Every()"',
);

describe.each(PATHS)('rich output on path %s', (mode) => {
  const { sandbox } = sandboxesForBlock({ sandbox: { mode, limits: LIMITS, pool: { size: 1, min: 1, max: 1 } } });

  it('display() gives one bundle per _repr_* method, as a builtin and from pybox, in order with stdout', async () => {
    const r = await sandbox.run(py(EVERY_REPR, 'print("before")', 'display(Every())', 'from pybox import display as d', 'print("é")', 'd(42)'));
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('before\né\n');
    expect(r.truncated.display).toBe(false);
    expect(r.outputs).toEqual([
      {
        type: 'display',
        data: {
          'text/html': '<b>html</b>',
          'text/markdown': '**md**',
          'image/svg+xml': '<svg xmlns="http://www.w3.org/2000/svg"/>',
          'image/png': Buffer.from('\x89PNG fake', 'latin1').toString('base64'),
          'image/jpeg': Buffer.from('\xff\xd8 fake', 'latin1').toString('base64'),
          'application/json': '{"a": [1, 2]}',
          'text/latex': '$x^2$',
          'text/plain': 'Every()',
        },
        stdoutOffset: 'before\n'.length,
      },
      { type: 'display', data: { 'text/plain': '42' }, stdoutOffset: 'before\né\n'.length },
    ]);
  });

  it.runIf(dataStack)('a figure left open is an image/png output of its size; plt.show() emits at once, in stdout order', async () => {
    const r = await sandbox.run(
      py(
        'import matplotlib.pyplot as plt',
        'print("one")',
        'plt.figure(figsize=(3, 2)); plt.plot([1, 3, 2]); plt.show()',
        'print("two")',
        'plt.figure(figsize=(4, 3)); plt.plot([3, 1, 2])',
        'plt.figure(figsize=(2, 2)); plt.bar([1, 2], [3, 4])',
        'print("three")',
      ),
    );
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('one\ntwo\nthree\n');
    expect(r.outputs.map(types)).toEqual([['image/png', 'text/plain'], ['image/png', 'text/plain'], ['image/png', 'text/plain']]);
    expect(r.outputs.map((o) => o.stdoutOffset)).toEqual([4, 14, 14]);
    expect(r.outputs.map((o) => decodePng(o.data['image/png']!)).map(({ width, height }) => [width, height])).toEqual([[300, 200], [400, 300], [200, 200]]);
    expect(r.outputs.map((o) => o.data['text/plain'])).toEqual(['<Figure size 300x200 with 1 Axes>', '<Figure size 400x300 with 1 Axes>', '<Figure size 200x200 with 1 Axes>']);
  });

  it.runIf(dataStack)('a session cell: its last expression brings its other MIME types (a DataFrame its HTML), its open figures their PNGs', async () => {
    const s = await sandbox.openSession({ limits: LIMITS });
    try {
      const frame = await s.run('import pandas as pd\ndf = pd.DataFrame({"x": [1, 2]})\ndf');
      expect(frame.value?.text).toBe('   x\n0  1\n1  2');
      expect(frame.value?.data?.['text/html']).toMatch(/^<div>[\s\S]*<table border="1" class="dataframe">[\s\S]*<td>2<\/td>/);
      expect(frame.outputs).toEqual([]);
      const plain = await s.run('import matplotlib.pyplot as plt\nprint("x")\nplt.plot([1, 2])\n1 + 1');
      expect(plain.value).toEqual({ text: '2' });
      expect(plain.outputs.map((o) => [types(o), o.stdoutOffset])).toEqual([[['image/png', 'text/plain'], 2]]);
      expect(decodePng(plain.outputs[0]!.data['image/png']!)).toMatchObject({ width: 640, height: 480 });
      const again = await s.run('display(df)\nplt.get_fignums()');
      expect(again.value).toEqual({ text: '[]' }); // the figure was closed with its cell
      expect(again.outputs[0]?.data['text/html']).toContain('class="dataframe"');
    } finally {
      await s.close();
    }
  });
});

describe('rich output: the protocol, limits and forged frames', () => {
  const { sandbox } = sandboxesForBlock({ sandbox: { mode: 'zygote', limits: LIMITS } }, { eachTest: true });

  it('_repr_mimebundle_ (a tuple with metadata), include and exclude; a failing _repr_ is skipped as IPython does', async () => {
    const r = await sandbox.run(
      py(
        'class B:',
        '    def _repr_mimebundle_(self, include=None, exclude=None):',
        '        return {"text/html": "<i>b</i>", "application/vnd.x+json": {"k": 1}}, {"text/html": {"isolated": True}}',
        '    def _repr_markdown_(self): return "md"',
        '    def _repr_html_(self): return "never: the bundle has html"',
        'class Broken:',
        '    def _repr_html_(self): raise ValueError("no")',
        '    def _repr_latex_(self): return None',
        '    def __repr__(self): return "Broken()"',
        'display(B())',
        'display(B(), include=["text/html"])',
        'display(B(), exclude=["text/html", "text/markdown"])',
        'display(Broken())',
        'display({"text/csv": "a,b"}, raw=True)',
      ),
    );
    expect(r.status).toBe('ok');
    expect(r.stderr).toBe('');
    const [all, only, without, broken, raw] = r.outputs;
    expect(all?.data).toEqual({ 'text/html': '<i>b</i>', 'application/vnd.x+json': '{"k": 1}', 'text/markdown': 'md', 'text/plain': expect.stringMatching(/^<__main__\.B object at/) });
    expect(all?.metadata).toEqual({ 'text/html': { isolated: true } });
    expect(only?.data).toEqual({ 'text/html': '<i>b</i>' });
    expect(Object.keys(without!.data).sort()).toEqual(['application/vnd.x+json', 'text/plain']);
    expect(broken?.data).toEqual({ 'text/plain': 'Broken()' });
    expect(raw?.data).toEqual({ 'text/csv': 'a,b' });
  });

  it.runIf(dataStack)('display(DataFrame) and display(fig); onDisplay streams each output in order, before the result', async () => {
    const seen: DisplayOutput[] = [];
    const r = await sandbox.run(
      py('import pandas as pd, matplotlib.pyplot as plt', 'display(pd.DataFrame({"a": [1]}))', 'fig = plt.figure(figsize=(1, 1))', 'display(fig)', 'print("end")'),
      { onDisplay: (o) => seen.push(o) },
    );
    expect(r.status).toBe('ok');
    expect(r.outputs.map(types)).toEqual([['text/html', 'text/plain'], ['image/png', 'text/plain'], ['image/png', 'text/plain']]);
    expect(decodePng(r.outputs[1]!.data['image/png']!)).toMatchObject({ width: 100, height: 100 });
    expect(seen.map((o) => o.data)).toEqual(r.outputs.map((o) => o.data));
  });

  it('displayBytes bounds a run: what does not fit is dropped, truncated.display is set, the run is ok', async () => {
    const r = await sandbox.run(py('for i in range(10):', '    display({"text/html": "x" * 1000}, raw=True)', 'print("done")'), { limits: { displayBytes: 3500 } });
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('done\n');
    expect(r.outputs).toHaveLength(3);
    expect(r.truncated).toEqual({ stdout: false, stderr: false, display: true });
    const none = await sandbox.run('display(1)', { limits: { displayBytes: 0 } });
    expect([none.status, none.outputs, none.truncated.display]).toEqual(['ok', [], true]);
  });

  it(`keeps at most ${MAX_OUTPUTS} outputs`, async () => {
    const r = await sandbox.run(`for i in range(${MAX_OUTPUTS + 5}): display(i)`);
    expect(r.status).toBe('ok');
    expect(r.outputs).toHaveLength(MAX_OUTPUTS);
    expect(r.outputs.at(-1)?.data).toEqual({ 'text/plain': String(MAX_OUTPUTS - 1) });
    expect(r.truncated.display).toBe(true);
  });

  it('forged display frames: a malformed bundle is dropped and the run goes on; a body over the budget stops the frames, never the host', async () => {
    const frame = (header: { size?: number }, body = '') => {
      const h = Buffer.from(JSON.stringify({ t: 'display', at: 0, size: Buffer.byteLength(body), ...header }));
      return `os.write(4, (${h.length}).to_bytes(4, "big") + ${JSON.stringify(h.toString())}.encode() + ${JSON.stringify(body)}.encode())`;
    };
    const r = await sandbox.run(
      py(
        'import os',
        frame({}, 'not json!'),
        frame({}, '{"data": {"<script>": "alert"}}'),
        frame({}, '{"data": {"text/plain": 1}}'),
        'display("kept")',
        frame({ size: 4 * 1024 ** 3 }),
        'os.write(4, b"x" * 100000)',
        'display("lost")',
        'print("the program goes on")',
      ),
    );
    expect(r.status).toBe('ok');
    expect(r.stdout).toBe('the program goes on\n');
    expect(r.outputs.map((o) => o.data)).toEqual([{ 'text/plain': "'kept'" }]);
    expect(r.truncated.display).toBe(true);
  });

  it('a session: a malformed bundle is dropped; one over the cell budget ends the session', async () => {
    const s = await sandbox.openSession();
    try {
      const forge = (size: number, body: string) => `h = b'{"t":"display","size":${size},"at":0}'\nos.write(4, len(h).to_bytes(4, "big") + h + b"${body}")`;
      const bad = await s.run(`import os\n${forge(3, '???')}\ndisplay(1)`);
      expect(bad.status).toBe('ok');
      expect(bad.outputs.map((o) => o.data)).toEqual([{ 'text/plain': '1' }]);
      expect(bad.truncated.display).toBe(true);
      const huge = await s.run(`${forge(999_999_999_999, '')}\nimport time; time.sleep(30)`);
      expect(huge.status).not.toBe('ok');
      expect(s.alive).toBe(false);
    } finally {
      await s.close();
    }
  });
});

describe.runIf(dataStack)('pybox run and rich output', () => {
  it('notes each output on stderr and writes the images to --out-dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pybox-rich-'));
    try {
      const code = py('import matplotlib.pyplot as plt', 'display(1)', 'plt.figure(figsize=(2, 1)); plt.plot([1, 2])', 'print("hi")');
      const out = await pybox(['run', '--timeout', '60000', '--cpu', '30000', '--memory', '512', '--out-dir', dir, '-'], { input: code });
      expect(out.code).toBe(0);
      expect(out.stdout).toBe('hi\n');
      expect(out.stderr).toMatch(/^\[display: text\/plain, 1 B\]\n\[display: image\/png, \d+ KiB\]\n$/);
      expect(readdirSync(dir)).toEqual(['display-2.png']);
      expect(decodePng(readFileSync(join(dir, 'display-2.png')).toString('base64'))).toMatchObject({ width: 200, height: 100 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('display frames on the host', () => {
  const body = (json: unknown) => Buffer.from(JSON.stringify(json));

  it('places each output in the stdout kept, in characters, whole characters only', () => {
    const c = new DisplayCollector(1024);
    for (const at of [0, 2, 4, 6, 100]) {
      const b = body({ data: { 'text/plain': String(at) } });
      const d = c.begin({ t: 'display', size: b.length, at })!;
      d.data!.set(b);
      c.end(d);
    }
    // é is 2 bytes, 😀 4 (and 2 UTF-16 units): a character cut at `at` is not counted; past the end, all.
    expect(c.outputs(Buffer.from('aéb😀c')).map((o) => o.stdoutOffset)).toEqual([0, 1, 3, 3, 6]);
  });

  it('sizes a body only within the budget and refuses one over it', () => {
    const c = new DisplayCollector(100);
    expect(c.begin({ t: 'display', size: 101, at: 0 })).toBeNull();
    expect(c.truncated).toBe(true);
    expect(c.begin({ t: 'display', size: 60, at: 0 })?.data?.length).toBe(60);
    expect(c.room).toBe(40);
    expect(c.begin({ t: 'display', size: 41, at: 0 })).toBeNull();
  });
});
