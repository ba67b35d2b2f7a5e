// The system packages the VM needs: QEMU, and a static busybox for the initramfs (a dynamic one would
// find no libc there). Installed with apt-get when missing.
import { execFileSync, spawnSync } from 'node:child_process';

export const SYSTEM_PACKAGES = ['qemu-system-x86', 'busybox-static'];

const installed = (pkg) => spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout?.includes('install ok installed');

export function ensurePackages(log) {
  const missing = SYSTEM_PACKAGES.filter((p) => !installed(p));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new Error(`missing system packages (${missing.join(' ')}); install them as root: apt-get install ${missing.join(' ')}`);
  log(`installing ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'], env });
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { stdio: ['ignore', 'ignore', 'inherit'], env });
}
