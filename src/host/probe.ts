import { execFileSync } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { PROC_MASK_ALWAYS, PROC_MASK_DIRS, PROC_MASK_FILES } from './proc-masks.js';
import { PyboxError } from '../core/errors.js';
import { libraryAlternatives, type AlternativeLink } from './alternatives.js';

/** Facts about this host that shape every jail; probed once per interpreter path. */
export interface HostFacts {
  bwrap: string;
  bwrapVersion: string;
  python: string;
  pythonVersion: string;
  /** Read-only binds beyond /usr that the interpreter needs (an install outside /usr). */
  extraReadOnly: string[];
  /** site/dist-packages directories the guest adds to sys.path (the jail runs python -S). */
  sitePaths: string[];
  usrSymlinks: { name: string; target: string }[];
  /** Shared-library links of /etc/alternatives (BLAS, LAPACK) the jail recreates. */
  alternatives: AlternativeLink[];
  procMasks: { files: string[]; dirs: string[] };
  /** The host's /etc/ld.so.cache (saves the loader a directory walk), copied into each jail. */
  ldCache: Buffer | null;
  isRoot: boolean;
  /** A POSIX shell (/bin/sh), for the few lines that put a jail into its cgroup before bwrap starts. */
  shell: string | null;
}

const BWRAP_CANDIDATES = ['/usr/bin/bwrap', '/usr/local/bin/bwrap', '/bin/bwrap'];
export const DEFAULT_PYTHON = '/usr/bin/python3';
const PROBE_TIMEOUT_MS = 60_000;

/** Whether pybox can use a Python of this version (`3.11.2`): 3.8 or later, for audit hooks. */
export function pythonSupported(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major === 3 && (minor ?? 0) >= 8;
}

/** The bwrap to use: PYBOX_BWRAP (an absolute path) when set, else the first installed one. */
export function findBwrap(): string | null {
  const chosen = process.env.PYBOX_BWRAP;
  for (const path of chosen ? [chosen] : BWRAP_CANDIDATES) {
    if (!path.startsWith('/')) continue;
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      /* try the next */
    }
  }
  return null;
}

const PYTHON_PROBE = `import sys, site, json
print(json.dumps({"version": sys.version.split()[0], "prefix": sys.prefix, "base": sys.base_prefix,
  "exec": sys.exec_prefix, "site": [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]}))`;

interface PythonInfo {
  version: string;
  prefix: string;
  base: string;
  exec: string;
  site: string[];
}

const cache = new Map<string, HostFacts>();

export function probeHost(pythonPath: string = DEFAULT_PYTHON): HostFacts {
  const cached = cache.get(pythonPath);
  if (cached) return cached;

  const bwrap = findBwrap();
  if (!bwrap) {
    throw new PyboxError('E_JAIL_UNAVAILABLE', 'bubblewrap (bwrap) is not installed; run: apt-get install -y bubblewrap');
  }
  if (!pythonPath.startsWith('/')) {
    throw new PyboxError('E_PYTHON_NOT_FOUND', `python must be an absolute path, got ${JSON.stringify(pythonPath)}`);
  }
  let python: string;
  try {
    python = realpathSync(pythonPath);
    accessSync(python, constants.X_OK);
  } catch {
    throw new PyboxError('E_PYTHON_NOT_FOUND', `python interpreter not found or not executable: ${pythonPath}`);
  }
  let info: PythonInfo;
  try {
    // Only against a hang: a loaded or emulated host (a VM under TCG) takes seconds to start Python.
    info = JSON.parse(execFileSync(python, ['-I', '-c', PYTHON_PROBE], { encoding: 'utf8', env: {}, timeout: PROBE_TIMEOUT_MS })) as PythonInfo;
  } catch (error) {
    throw new PyboxError('E_PYTHON_NOT_FOUND', `cannot run ${python}: ${(error as Error).message}`);
  }
  if (!pythonSupported(info.version)) {
    throw new PyboxError('E_PYTHON_NOT_FOUND', `pybox needs Python >= 3.8 (audit hooks), ${python} is ${info.version}`);
  }

  const extraReadOnly = [...new Set([info.prefix, info.base, info.exec])].filter(
    (p) => p !== '/usr' && !p.startsWith('/usr/'),
  );
  if (!python.startsWith('/usr/') && !extraReadOnly.some((p) => python.startsWith(p + '/'))) {
    extraReadOnly.push(python);
  }

  const facts: HostFacts = {
    bwrap,
    bwrapVersion: execFileSync(bwrap, ['--version'], { encoding: 'utf8', env: {} }).trim(),
    python,
    pythonVersion: info.version,
    extraReadOnly,
    sitePaths: info.site.filter((p) => existsSync(p)),
    usrSymlinks: usrSymlinks(extraReadOnly),
    alternatives: libraryAlternatives(['/usr', ...extraReadOnly]),
    procMasks: {
      files: PROC_MASK_FILES.filter((n) => existsSync(`/proc/${n}`) && (PROC_MASK_ALWAYS.includes(n) || othersMayRead(`/proc/${n}`))),
      dirs: PROC_MASK_DIRS.filter((n) => hasEntries(`/proc/${n}`)),
    },
    ldCache: readIfThere('/etc/ld.so.cache'),
    isRoot: process.getuid?.() === 0,
    shell: existsSync('/bin/sh') ? '/bin/sh' : null,
  };
  cache.set(pythonPath, facts);
  return facts;
}

/** Top-level links such as /bin -> usr/bin on merged-/usr systems, recreated inside the jail. */
function usrSymlinks(realDirs: string[]): { name: string; target: string }[] {
  const links: { name: string; target: string }[] = [];
  for (const name of ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']) {
    try {
      const stat = lstatSync(`/${name}`);
      if (stat.isDirectory()) realDirs.push(`/${name}`); // a split-/usr host: bind it as it is
      if (!stat.isSymbolicLink()) continue;
      const target = readlinkSync(`/${name}`);
      if (target.replace(/^\//, '').startsWith('usr/')) links.push({ name, target });
    } catch {
      /* absent */
    }
  }
  return links;
}

/** An empty /proc directory (e.g. acpi on a VM) hides nothing: no mask for it. */
function hasEntries(path: string): boolean {
  try {
    return readdirSync(path).length > 0;
  } catch {
    return false;
  }
}

function readIfThere(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

/** Whether a /proc entry is readable by a user that neither owns it nor is in its group. */
function othersMayRead(path: string): boolean {
  try {
    const st = statSync(path);
    return st.uid !== 0 || (st.mode & 0o004) !== 0 || (st.gid !== 0 && (st.mode & 0o040) !== 0);
  } catch {
    return true;
  }
}
