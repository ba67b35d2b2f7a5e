import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The version in pybox's package.json, found by walking up from this file (src/ or dist/src/). */
export function pyboxVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pybox' && pkg.version) return pkg.version;
    } catch {
      /* keep looking */
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
