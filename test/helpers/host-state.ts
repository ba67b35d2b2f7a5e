import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedCgroups } from '../../src/jail/environment.js';

export interface JailProcess {
  pid: number;
  uid: number;
  status: string;
  cmdline: string;
}

/**
 * Live host processes whose real uid is in pybox's jail range (or, with `marker`, whose
 * cmdline holds it), among `candidates` (default: every pid now). Zombies are skipped:
 * bwrap's outer process may exit before its pid-1 reaper is reaped, which leaves an
 * exited [bwrap] entry for the host's init to collect.
 */
export function liveJailProcesses(marker?: string, candidates: string[] = readdirSync('/proc')): JailProcess[] {
  const found: JailProcess[] = [];
  for (const name of candidates) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      if (/^State:\s+Z/m.test(status)) continue;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if ((uid >= 62_000 && uid < 63_000) || (marker && cmdline.includes(marker))) found.push({ pid: Number(name), uid, status, cmdline });
    } catch {
      /* exited while we looked */
    }
  }
  return found;
}

export function jailProcesses(marker?: string): string[] {
  return liveJailProcesses(marker).map((p) => `${p.pid}: uid ${p.uid} ${p.cmdline.slice(0, 80)}`);
}

/** Names of the per-jail cgroup directories under this process's pybox parent. */
export function jailCgroupNames(): { parent: string; names: string[] } | null {
  const parent = /under (\S+)/.exec(sharedCgroups().detail)?.[1];
  if (!parent || !existsSync(parent)) return null;
  return { parent, names: readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name) };
}

/** Per-jail cgroup directories left under this process's pybox parent. */
export function leftoverCgroups(): string[] {
  const cgroups = jailCgroupNames();
  return cgroups ? cgroups.names.map((name) => join(cgroups.parent, name)) : [];
}

export interface HostSnapshot {
  mounts: number;
  tmpEntries: Set<string>;
}

export function snapshotHost(): HostSnapshot {
  return {
    mounts: readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').length,
    tmpEntries: new Set(readdirSync(tmpdir())),
  };
}

/** What changed on the host since the snapshot that pybox should have cleaned up. */
export function hostLeftovers(before: HostSnapshot, marker?: string): string[] {
  const problems: string[] = [];
  problems.push(...jailProcesses(marker).map((p) => `process left: ${p}`));
  problems.push(...leftoverCgroups().map((c) => `cgroup left: ${c}`));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').length;
  if (mounts !== before.mounts) problems.push(`host mount count changed ${before.mounts} -> ${mounts}`);
  for (const entry of readdirSync(tmpdir())) {
    if (!before.tmpEntries.has(entry)) problems.push(`temp entry left: ${entry}`);
  }
  return problems;
}
