#!/usr/bin/env node
// npm run vm -- [--cgroup v1|v2] [--as root|service|delegated] -- <command...>
// Boots a fresh Linux VM whose root is this host's / (read-only) with the project tree writable at its
// own path, runs the command there as the chosen kind of host would, relays its output, exits with its status.
import { Command, Option } from 'commander';
import { chmodSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { guestConfig, shellQuote } from './lib/guest-config.mjs';
import { ensureImage } from './lib/image.mjs';
import { ensurePackages } from './lib/packages.mjs';
import { bootOnce } from './lib/qemu.mjs';

const PROJECT = realpathSync(join(dirname(fileURLToPath(import.meta.url)), '..'));
const KVM_BOOT_MS = 15_000;
const TCG_BOOT_MS = 180_000;
/** Exit status when the VM itself failed (no status came back from the guest). */
const VM_FAILED = 125;

const log = (msg) => process.stderr.write(`vm: ${msg}\n`);

const program = new Command('vm')
  .description('run a command in a fresh Linux VM with cgroup v1 or v2')
  .addOption(new Option('--cgroup <version>', 'cgroup hierarchy').choices(['v1', 'v2']).default('v2'))
  .addOption(new Option('--as <kind>', 'root: root cgroup; service: a child cgroup holding processes; delegated: unprivileged user owning a delegated subtree').choices(['root', 'service', 'delegated']).default('root'))
  .addOption(new Option('--memory <MiB>', 'VM memory').default('3072'))
  .argument('<command...>', 'command to run inside')
  .passThroughOptions();
program.parse();
const opts = program.opts();

let image;
try {
  ensurePackages(log);
  image = ensureImage(log);
} catch (error) {
  log(error.message);
  process.exit(VM_FAILED);
}
const io = mkdtempSync(join(tmpdir(), 'pybox-vm-'));
chmodSync(io, 0o755); // the command of --as delegated runs as an unprivileged user
const kvmUnusable = join(image.cache, 'kvm-unusable');
try {
  writeFileSync(join(io, 'config.sh'), guestConfig({ project: PROJECT, cgroup: opts.cgroup, as: opts.as }));
  writeFileSync(join(io, 'command.sh'), `exec ${program.args.map(shellQuote).join(' ')}\n`);
  const cmdline = `console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init ${opts.cgroup === 'v2' ? 'cgroup_no_v1=all' : ''}`;
  const base = { kernel: image.kernel, initrd: image.initrd, cmdline, io, project: PROJECT, memoryMiB: Number(opts.memory), cpus: 2 };
  const streams = { stdout: process.stdout, stderr: process.stderr };

  let result = null;
  const forced = process.env.PYBOX_VM_ACCEL;
  if (forced !== 'tcg' && existsSync('/dev/kvm') && (forced === 'kvm' || !existsSync(kvmUnusable))) {
    result = await bootOnce({ ...base, accel: 'kvm' }, { ...streams, bootTimeoutMs: KVM_BOOT_MS });
    if (!result.booted) {
      log('KVM did not boot the kernel; using software emulation (TCG) from now on');
      writeFileSync(kvmUnusable, `${new Date().toISOString()}\n`);
      result = null;
    }
  }
  result ??= await bootOnce({ ...base, accel: 'tcg' }, { ...streams, bootTimeoutMs: TCG_BOOT_MS });
  if (result.exitCode === null) {
    log(`the VM ended without the command's status${result.booted ? '' : ' (it did not boot)'}`);
    if (result.qemuStderr) log(`qemu: ${result.qemuStderr.trim()}`);
    const consoleLog = join(io, 'console.log');
    if (existsSync(consoleLog)) log(`console:\n${readFileSync(consoleLog, 'utf8').split('\n').slice(-30).join('\n')}`);
  }
  process.exitCode = result.exitCode ?? VM_FAILED;
} finally {
  rmSync(io, { recursive: true, force: true });
}
