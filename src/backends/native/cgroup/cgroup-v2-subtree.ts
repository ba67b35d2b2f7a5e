import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Where pybox makes its cgroups on cgroup v2. The no-internal-processes rule lets a cgroup
 * (other than the root) enable controllers for its children only while it holds no process
 * itself, and a supervisor's own cgroup holds at least the supervisor (under a systemd
 * service or in a container, more). So pybox makes a subtree it owns inside its cgroup:
 *
 *   <own>/pybox/supervisor-<pid>   the supervisor, moved into a leaf
 *   <own>/pybox/pybox-<pid>/<jail> the jails (see detectCgroups)
 *   <own>/init                     whatever else was in <own> (a service's other processes)
 *
 * Or it uses a subtree it is given (`cgroupRoot`), which must hold no process.
 */
const CONTROLLERS = ['memory', 'pids', 'cpu'] as const;

const readWords = (file: string): string[] => readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean);

const controllersEnabled = (dir: string): boolean => {
  const enabled = readWords(join(dir, 'cgroup.subtree_control'));
  return CONTROLLERS.every((c) => enabled.includes(c));
};

/** Makes memory, pids and cpu available to the children of `dir`. */
export function enableControllers(dir: string): void {
  const available = readWords(join(dir, 'cgroup.controllers'));
  const missing = CONTROLLERS.filter((c) => !available.includes(c));
  if (missing.length > 0) throw new Error(`${dir} lacks the ${missing.join(', ')} controller`);
  if (controllersEnabled(dir)) return;
  writeFileSync(join(dir, 'cgroup.subtree_control'), CONTROLLERS.map((c) => `+${c}`).join(' '));
}

const SUPERVISOR_LEAF = /^supervisor-\d+$/;

/** Moves every process listed in `from` into `to` (one at a time: cgroup.procs takes one pid a write). */
function moveAll(from: string, to: string): void {
  for (let attempt = 0; attempt < 10; attempt++) {
    const pids = readWords(join(from, 'cgroup.procs'));
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        writeFileSync(join(to, 'cgroup.procs'), pid);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; // gone meanwhile
      }
    }
  }
  throw new Error(`processes keep appearing in ${from}`);
}

export interface V2Subtree {
  /** Where the per-process parents go; controllers are enabled in it. */
  dir: string;
  /** At exit: leaves the supervisor leaf (for <own>/init) and removes what is empty. */
  release(): void;
}

const keep = (dir: string): V2Subtree => ({ dir, release: () => {} });

/**
 * The subtree inside our own cgroup (`ownPath`, as /proc/self/cgroup names it), set up as
 * above. The root cgroup may hold processes: used as is.
 */
export function ownV2Subtree(mountPoint: string, ownPath: string): V2Subtree {
  const own = join(mountPoint, ownPath);
  if (ownPath === '/') {
    enableControllers(mountPoint);
    return keep(mountPoint);
  }
  // Started by another pybox supervisor (a CLI run by it, say): share its subtree.
  if (SUPERVISOR_LEAF.test(basename(own)) && basename(dirname(own)) === 'pybox') return keep(dirname(own));
  // Started from a process another supervisor moved aside: the cgroup it set up is the parent.
  const home = basename(own) === 'init' && controllersEnabled(dirname(own)) ? dirname(own) : own;
  const subtree = join(home, 'pybox');
  const leaf = join(subtree, `supervisor-${process.pid}`);
  mkdirSync(leaf, { recursive: true });
  writeFileSync(join(leaf, 'cgroup.procs'), String(process.pid));
  const init = join(home, 'init');
  mkdirSync(init, { recursive: true });
  moveAll(home, init);
  enableControllers(home);
  enableControllers(subtree);
  const release = (): void => {
    try {
      writeFileSync(join(init, 'cgroup.procs'), String(process.pid));
      rmdirSync(leaf);
      rmdirSync(subtree); // fails while another supervisor uses it: theirs to remove
    } catch {
      /* left for the next start's stale-leaf sweep */
    }
  };
  return { dir: subtree, release };
}

/** A subtree given to pybox (an absolute path, under the cgroup2 mount or relative to it). */
export function givenV2Subtree(mountPoint: string, root: string): V2Subtree {
  const dir = root === mountPoint || root.startsWith(`${mountPoint}/`) ? root : join(mountPoint, root);
  enableControllers(dir);
  return keep(dir);
}
