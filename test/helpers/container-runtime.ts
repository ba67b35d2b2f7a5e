import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Output {
  code: number;
  stdout: string;
  stderr: string;
}

/** A command's exit code and output, whatever the code; killed (code -1) after `timeoutMs`. */
export async function capture(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}, timeoutMs = 150_000): Promise<Output> {
  try {
    const { stdout, stderr } = await run(cmd, args, { maxBuffer: 16 << 20, env: options.env ?? process.env, cwd: options.cwd, timeout: timeoutMs, killSignal: 'SIGKILL' });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number | string; stdout?: string; stderr?: string; message: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message };
  }
}

export function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => existsSync(join(dir, name)));
}

/**
 * An image with nothing of its own but a root skeleton: the host's /usr (node, python3, bwrap,
 * util-linux) is bind-mounted read-only at run time, so no registry and no package download is
 * needed to build it. A real image installs the same packages (docs/deploy.md).
 */
export function writeSkeleton(dir: string): void {
  // /sbin is a directory of the image's own: Docker's --init mounts /sbin/docker-init there.
  for (const d of ['etc', 'proc', 'sys', 'dev', 'run', 'root', 'usr', 'sbin']) mkdirSync(join(dir, d), { recursive: true });
  for (const d of ['tmp', 'var/tmp']) {
    mkdirSync(join(dir, d), { recursive: true });
    chmodSync(join(dir, d), 0o1777);
  }
  for (const name of ['bin', 'lib', 'lib64']) symlinkSync(`usr/${name}`, join(dir, name));
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  if (existsSync('/etc/ld.so.cache')) copyFileSync('/etc/ld.so.cache', join(dir, 'etc/ld.so.cache'));
}

/**
 * A Docker daemon of the test's own (its socket, data and state directories), so that the
 * test neither needs nor disturbs one the machine may run. No bridge, no iptables rules:
 * the containers run with --network=none, and pybox needs no network.
 */
export class PrivateDocker {
  private state = '';
  private readonly data = '/var/lib/pybox-test-docker';
  private daemon: ChildProcess | null = null;
  private log = '';

  get socket(): string {
    return join(this.state, 'docker.sock');
  }

  async start(): Promise<void> {
    this.state = mkdtempSync(join('/run', 'pybox-test-docker-'));
    const initPath = ['/usr/bin/tini-static', '/usr/bin/tini'].find((p) => existsSync(p));
    this.daemon = spawn(
      'dockerd',
      [
        `--host=unix://${this.socket}`,
        `--data-root=${this.data}`,
        `--exec-root=${join(this.state, 'exec')}`,
        `--pidfile=${join(this.state, 'dockerd.pid')}`,
        '--iptables=false',
        '--ip6tables=false',
        '--bridge=none',
        ...(initPath ? [`--init-path=${initPath}`] : []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const exited = new Promise<never>((_, reject) => {
      this.daemon?.once('exit', (code) => reject(new Error(`dockerd exited (${code}): ${this.log.slice(-2000)}`)));
    });
    exited.catch(() => {}); // observed below, or after a normal stop
    this.daemon.stderr?.on('data', (b: Buffer) => (this.log += b.toString()));
    // The daemon says so on its log when its API listens.
    await Promise.race([
      new Promise<void>((resolve) => {
        const onData = (): void => {
          if (this.log.includes('API listen on')) resolve();
        };
        this.daemon?.stderr?.on('data', onData);
      }),
      exited,
    ]);
  }

  docker(args: string[]): Promise<Output> {
    return capture('docker', ['-H', `unix://${this.socket}`, ...args]);
  }

  /** Imports the skeleton (see writeSkeleton) as `name`. */
  async importSkeleton(name: string): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'pybox-image-'));
    try {
      writeSkeleton(dir);
      const tar = join(tmpdir(), `pybox-image-${process.pid}.tar`);
      const made = await capture('tar', ['-C', dir, '-cf', tar, '.']);
      if (made.code !== 0) throw new Error(`tar: ${made.stderr}`);
      const imported = await this.docker(['import', tar, name]);
      rmSync(tar, { force: true });
      if (imported.code !== 0) throw new Error(`docker import: ${imported.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Stops the daemon (its containers are gone: every run used --rm) and removes all it wrote. */
  async stop(): Promise<void> {
    const daemon = this.daemon;
    if (daemon && daemon.exitCode === null) {
      const gone = new Promise((resolve) => daemon.once('exit', resolve));
      daemon.kill('SIGTERM');
      await gone;
    }
    rmSync(this.data, { recursive: true, force: true });
    if (this.state) rmSync(this.state, { recursive: true, force: true });
  }

  get output(): string {
    return this.log;
  }
}

/**
 * Rootless Podman as a user the test makes (with subordinate ids, as useradd gives them) and
 * removes with everything it ran: its processes (Podman keeps a pause process per user) and
 * its home, which holds the image store.
 */
export class RootlessPodman {
  readonly user = `pyboxrl${process.pid % 100_000}`;
  private readonly home = `/var/tmp/${this.user}`;
  private uid = -1;

  async create(image: string): Promise<void> {
    const made = await capture('useradd', ['--create-home', '--home-dir', this.home, '--shell', '/bin/sh', this.user]);
    if (made.code !== 0) throw new Error(`useradd: ${made.stderr}`);
    this.uid = Number((await capture('id', ['-u', this.user])).stdout.trim());
    const dir = mkdtempSync(join(this.home, 'image-'));
    try {
      writeSkeleton(dir);
      const tar = join(this.home, 'image.tar');
      const packed = await capture('tar', ['-C', dir, '-cf', tar, '.']);
      if (packed.code !== 0) throw new Error(`tar: ${packed.stderr}`);
      const imported = await this.podman(['import', tar, image]);
      if (imported.code !== 0) throw new Error(`podman import: ${imported.stderr}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  podman(args: string[]): Promise<Output> {
    // A login's environment, not the test runner's; no systemd session here, so no XDG_RUNTIME_DIR.
    return capture('runuser', ['-u', this.user, '--', 'env', `HOME=${this.home}`, 'XDG_RUNTIME_DIR=', 'podman', ...args], {
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
      cwd: this.home,
    });
  }

  async remove(): Promise<void> {
    if (this.uid < 0) return;
    for (const pid of processesOf(this.uid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await capture('userdel', ['--remove', this.user]);
    rmSync(this.home, { recursive: true, force: true });
    rmSync(`/tmp/podman-run-${this.uid}`, { recursive: true, force: true }); // Podman's run root without XDG_RUNTIME_DIR
    for (const file of ['/etc/subuid', '/etc/subgid']) {
      const lines = readFileSync(file, 'utf8').split('\n');
      writeFileSync(file, lines.filter((l) => !l.startsWith(`${this.user}:`)).join('\n'));
    }
  }
}

/** Pids whose real uid is `uid` (the test user's: Podman's pause process and anything left). */
function processesOf(uid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        return Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${n}/status`, 'utf8'))?.[1]) === uid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** The `docker run` / `podman run` flags docs/deploy.md gives in the block marked `<!-- tested: NAME -->`. */
export function documentedFlags(doc: string, name: string): string[] {
  const block = new RegExp(`<!-- tested: ${name} -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readFileSync(doc, 'utf8'))?.[1];
  if (!block) throw new Error(`${doc} has no block marked ${name}`);
  const words = block.replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean);
  const start = words.indexOf('run');
  const end = words.indexOf('IMAGE');
  if (start < 0 || end < start) throw new Error(`the ${name} block is not "... run <flags> IMAGE ..."`);
  return words.slice(start + 1, end);
}
