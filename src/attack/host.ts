/**
 * Host-side evidence for the `pybox` target: canary files, planted secrets and
 * loopback listeners on the REAL host, set up per run so every hit is attributed to
 * exactly one attack. The jail must never touch any of it.
 *
 * For targets hosted inside the jail the same shape is only described (paths,
 * ports, names): the lab harness plants a fake copy of it inside the jail.
 */
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostProcesses, idleWarmJails } from '../backends/native/index.js';

export const SECRET_ENV = 'PYBOX_LAB_SECRET';

export function randomId(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

/** What an attack is told about "the host" (the context block at the top of its code). */
export interface HostShape {
  dir: string;
  secretFile: string;
  canaryFile: string;
  out: string;
  tcp: [string, number];
  udp: [string, number];
  unix: string;
  /** Abstract unix socket name, without the leading NUL. */
  abstract: string;
}

export interface Hits {
  tcp: number;
  udp: number;
  unix: number;
  abstract: number;
}

/** The shape of a host that exists only inside the jail (the lab harness plants it). */
export function virtualHost(nonce: string): HostShape {
  const dir = join('/tmp', `pybox-lab-${randomId(6)}`);
  const port = 20000 + (randomBytes(2).readUInt16BE(0) % 20000);
  return {
    dir,
    secretFile: join(dir, 'secret.txt'),
    canaryFile: join(dir, 'canary.txt'),
    out: join(dir, `pwned-${nonce}.txt`),
    tcp: ['127.0.0.1', port],
    udp: ['127.0.0.1', port + 1],
    unix: join(dir, 'host.sock'),
    abstract: `pybox-lab-${randomId(6)}`,
  };
}

/** A real host directory with a secret, a canary and four listeners, for one pybox run. */
export class HostFixture {
  readonly shape: HostShape;
  readonly secret = `host-secret-${randomId(12)}`;
  readonly canary = `canary-${randomId(12)}`;
  readonly hits: Hits = { tcp: 0, udp: 0, unix: 0, abstract: 0 };
  received = '';
  private servers: Server[] = [];
  private udpSocket: UdpSocket | null = null;
  private sockets = new Set<Socket>();
  private readonly expected: Set<string>;

  private constructor(readonly dir: string, nonce: string) {
    this.shape = {
      dir,
      secretFile: join(dir, 'secret.txt'),
      canaryFile: join(dir, 'canary.txt'),
      out: join(dir, `pwned-${nonce}.txt`),
      tcp: ['127.0.0.1', 0],
      udp: ['127.0.0.1', 0],
      unix: join(dir, 'host.sock'),
      abstract: `pybox-lab-${randomId(6)}`,
    };
    this.expected = new Set(['secret.txt', 'canary.txt', 'host.sock']);
  }

  static async create(nonce: string): Promise<HostFixture> {
    const dir = mkdtempSync(join(tmpdir(), 'pybox-lab-'));
    // World-writable and world-readable on purpose: the jail is the only thing that
    // may keep a jailed process (a pool uid) away from these canaries.
    chmodSync(dir, 0o777);
    const f = new HostFixture(dir, nonce);
    writeFileSync(f.shape.secretFile, f.secret + '\n', { mode: 0o644 });
    writeFileSync(f.shape.canaryFile, f.canary, { mode: 0o666 });
    chmodSync(f.shape.secretFile, 0o644);
    chmodSync(f.shape.canaryFile, 0o666);
    try {
      await f.listen();
    } catch (error) {
      await f.close();
      throw error;
    }
    return f;
  }

  private note(kind: keyof Hits, data?: Buffer): void {
    this.hits[kind]++;
    if (data && this.received.length < 4096) this.received += data.toString('utf8').slice(0, 4096);
  }

  private stream(kind: 'tcp' | 'unix' | 'abstract'): Server {
    const server = createServer((s) => {
      this.note(kind);
      this.sockets.add(s);
      s.on('data', (d: Buffer) => {
        if (this.received.length < 4096) this.received += d.toString('utf8').slice(0, 4096);
      });
      s.on('error', () => undefined);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('error', () => undefined);
    this.servers.push(server);
    return server;
  }

  private async listen(): Promise<void> {
    const tcp = this.stream('tcp');
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, '127.0.0.1', () => resolve());
    });
    this.shape.tcp = ['127.0.0.1', (tcp.address() as { port: number }).port];
    const unix = this.stream('unix');
    await new Promise<void>((resolve, reject) => {
      unix.once('error', reject);
      unix.listen(this.shape.unix, () => resolve());
    });
    chmodSync(this.shape.unix, 0o777);
    const abstract = this.stream('abstract');
    await new Promise<void>((resolve, reject) => {
      abstract.once('error', reject);
      abstract.listen('\0' + this.shape.abstract, () => resolve());
    });
    const udp = createSocket('udp4');
    udp.on('message', (msg) => this.note('udp', msg));
    udp.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(0, '127.0.0.1', () => resolve());
    });
    this.udpSocket = udp;
    this.shape.udp = ['127.0.0.1', udp.address().port];
  }

  /** Everything on the host side that is not as we left it. */
  changes(): string[] {
    const problems: string[] = [];
    try {
      if (readFileSync(this.shape.canaryFile, 'utf8') !== this.canary) problems.push(`host canary ${this.shape.canaryFile} was modified`);
    } catch {
      problems.push(`host canary ${this.shape.canaryFile} is gone`);
    }
    if (existsSync(this.shape.out)) problems.push(`host file ${this.shape.out} was created`);
    try {
      for (const name of readdirSync(this.dir)) {
        if (!this.expected.has(name)) problems.push(`host directory gained ${JSON.stringify(name)}`);
      }
    } catch {
      problems.push(`host directory ${this.dir} is gone`);
    }
    return problems;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    this.udpSocket?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Host identity the jail must not see: the host name, when it is distinctive enough to search for. */
export function hostIdentity(): string[] {
  const name = hostname();
  return name.length >= 6 && !['localhost', 'pybox', 'sandbox'].includes(name) ? [name] : [];
}

/**
 * Live processes that belong to jails this process started: they sit in the cgroup
 * `pybox-<our pid>/...` (or, without cgroups, run the bootstrap under a pool uid).
 * After a run ends with nothing else in flight, anything found here outlived it, except
 * warm jails that no run has claimed yet (zygotes and their spares, pooled jails).
 */
export function jailLeftovers(withCgroups: boolean): string[] {
  const found: string[] = [];
  const mark = `/pybox-${process.pid}/`;
  // The candidates first, the inventory after: a warm jail made in between is then
  // either not a candidate or already in the inventory.
  const candidates = readdirSync('/proc');
  const idle = new Set(idleWarmJails().pids);
  for (const { pid: name, uid } of hostProcesses(candidates)) {
    if (idle.has(name)) continue;
    try {
      const cgroup = readFileSync(`/proc/${name}/cgroup`, 'utf8');
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      // Without cgroups the best mark is the bootstrap on the command line (any pybox's jails).
      const ours = withCgroups ? cgroup.includes(mark) : cmdline.includes('pybox guest bootstrap');
      if (ours) found.push(`pid ${name} uid ${uid}: ${cmdline.slice(0, 60)}`);
    } catch {
      /* exited while we looked */
    }
  }
  return found;
}
