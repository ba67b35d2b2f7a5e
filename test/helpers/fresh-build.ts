/**
 * vitest globalSetup: the CLI tests spawn bin/pybox, which runs dist/. A dist/ older than
 * src/ would test yesterday's code, so it is rebuilt once, before any test, when any
 * source is newer than what it compiles to (or has no output yet).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Sources under src/ newer than what the build made of them: a .ts file than its .js, any
 * other file (the guest's Python, which the build copies or bundles) than the build's entry.
 */
export function staleOutputs(): string[] {
  const entry = join(ROOT, 'dist/src/index.js');
  if (!existsSync(entry)) return ['dist/src/index.js (no build)'];
  const built = statSync(entry).mtimeMs;
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const item of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, item.name);
      if (item.isDirectory()) walk(path);
      else if (item.name.endsWith('.ts') && !item.name.endsWith('.d.ts')) {
        const output = join(ROOT, 'dist', relative(ROOT, path)).replace(/\.ts$/, '.js');
        if (!existsSync(output) || statSync(output).mtimeMs < statSync(path).mtimeMs) stale.push(relative(ROOT, path));
      } else if (statSync(path).mtimeMs > built) stale.push(relative(ROOT, path));
    }
  };
  walk(join(ROOT, 'src'));
  return stale;
}

export default function freshBuild(): void {
  const stale = staleOutputs();
  if (stale.length === 0) return;
  process.stdout.write(`dist/ is older than ${stale.length} source(s) (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', ...' : ''}): npm run build\n`);
  execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
  const still = staleOutputs();
  if (still.length > 0) throw new Error(`npm run build left dist/ older than: ${still.join(', ')}`);
}
