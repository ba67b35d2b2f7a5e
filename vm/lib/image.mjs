// The VM's kernel and initramfs, built once and cached: Debian's stock kernel (its virtio and 9p drivers
// are modules, loaded by our init) and a busybox initramfs running guest/init.sh.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const GUEST = join(dirname(fileURLToPath(import.meta.url)), '..', 'guest');
// In dependency order: init.sh loads them in the order of modules/order.
const MODULES = ['virtio_ring', 'virtio', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio_pci', 'virtio_console', 'netfs', 'fscache', '9pnet', '9pnet_virtio', '9p'];

export const cacheDir = () => process.env.PYBOX_VM_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'pybox-vm');

/** The versioned package linux-image-amd64 points at (e.g. linux-image-6.1.0-57-amd64). */
function kernelPackage() {
  const depends = () => spawnSync('apt-cache', ['depends', 'linux-image-amd64'], { encoding: 'utf8' }).stdout ?? '';
  let match = /Depends: (linux-image-[\w.-]+)/.exec(depends());
  if (!match) {
    execFileSync('apt-get', ['update', '-qq'], { stdio: ['ignore', 'ignore', 'inherit'] });
    match = /Depends: (linux-image-[\w.-]+)/.exec(depends());
  }
  if (!match) throw new Error('apt knows no linux-image-amd64 package');
  return match[1];
}

/** An unpacked kernel package under the cache: the one already there, else the current one from apt. */
function ensureKernel(cache, log) {
  const existing = readdirSync(cache).find((d) => d.startsWith('linux-image-') && existsSync(join(cache, d, 'boot')));
  if (existing) return join(cache, existing);
  const pkg = kernelPackage();
  log(`downloading ${pkg}`);
  const work = mkdtempSync(join(cache, 'download-'));
  try {
    execFileSync('apt-get', ['-o', 'APT::Sandbox::User=root', 'download', pkg], { cwd: work, stdio: ['ignore', 'ignore', 'inherit'] });
    const deb = readdirSync(work).find((f) => f.endsWith('.deb'));
    execFileSync('dpkg', ['-x', join(work, deb), join(work, 'root')]);
    renameSync(join(work, 'root'), join(cache, pkg));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return join(cache, pkg);
}

const findFile = (dir, name) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      const found = findFile(path, name);
      if (found) return found;
    } else if (e.name === name) return path;
  }
  return null;
};

/** A gzipped newc cpio of busybox, our init and the modules, named for what went in. */
function ensureInitramfs(cache, kernelDir) {
  const busybox = '/bin/busybox';
  const names = ['init.sh', 'ports.sh', 'expose.sh'];
  const scripts = names.map((f) => readFileSync(join(GUEST, f)));
  const key = createHash('sha256').update(kernelDir).update(readFileSync(busybox)).update(Buffer.concat(scripts)).digest('hex').slice(0, 16);
  const out = join(cache, `initramfs-${key}.cpio.gz`);
  if (existsSync(out)) return out;
  const stage = mkdtempSync(join(cache, 'initramfs-'));
  try {
    for (const d of ['bin', 'dev', 'proc', 'sys', 'modules']) mkdirSync(join(stage, d));
    copyFileSync(busybox, join(stage, 'bin/busybox'));
    writeFileSync(join(stage, 'init'), scripts[0], { mode: 0o755 });
    names.slice(1).forEach((name, i) => writeFileSync(join(stage, name), scripts[i + 1]));
    writeFileSync(join(stage, 'modules/order'), MODULES.join('\n'));
    for (const m of MODULES) {
      const ko = findFile(join(kernelDir, 'lib/modules'), `${m}.ko`);
      if (!ko) throw new Error(`the kernel package has no module ${m}.ko`);
      copyFileSync(ko, join(stage, 'modules', `${m}.ko`));
    }
    execFileSync('sh', ['-c', `find . | ${busybox} cpio -o -H newc 2>/dev/null | gzip -1 > "$0.tmp" && mv "$0.tmp" "$0"`, out], { cwd: stage });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return out;
}

export function ensureImage(log) {
  const cache = cacheDir();
  mkdirSync(cache, { recursive: true });
  const kernelDir = ensureKernel(cache, log);
  const vmlinuz = readdirSync(join(kernelDir, 'boot')).find((f) => f.startsWith('vmlinuz-'));
  return { cache, kernel: join(kernelDir, 'boot', vmlinuz), initrd: ensureInitramfs(cache, kernelDir) };
}
