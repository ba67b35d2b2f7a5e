/**
 * The server's live sessions (HTTP /v1/sessions, its WebSocket, and the MCP session
 * tools): each belongs to the key that opened it (another key sees it as unknown), counts
 * against that key's session quota and the server's --max-sessions, and runs its cells
 * under the key's run quota. A drain waits for the cells in flight, then ends them all.
 */
import type { McpSessionTools } from '../mcp/run-python-code.js';
import type { CellOptions, CellResult, Session, SessionOpenOptions } from '../sandbox/index.js';
import type { Principal } from './api-keys.js';
import { HttpError } from './http-error.js';
import type { RunService } from './run-service.js';

export interface LiveSession {
  readonly id: string;
  readonly owner: string;
  readonly createdAt: Date;
  readonly session: Session;
  cells: number;
}

export interface SessionInfo {
  id: string;
  alive: boolean;
  createdAt: string;
  cells: number;
}

/** How long an ended session still answers (alive: false; a run gets 409) before it is forgotten (404). */
const ENDED_KEPT_MS = 10 * 60_000;

const notFound = () => new HttpError(404, 'E_NOT_FOUND', 'no such session (it ended long ago, or was never opened with this key)');

export class SessionService {
  private readonly live = new Map<string, LiveSession>();
  private openCount = 0;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly service: RunService,
    /** Sessions open at once, over every key; one more is refused with 503 E_TOO_MANY_SESSIONS. */
    readonly maxSessions: number,
    /** Every session's idle timeout and lifetime (`pybox serve --session-idle-timeout ...`); unset: the library's. */
    private readonly times: Pick<SessionOpenOptions, 'idleTimeoutMs' | 'maxLifetimeMs'> = {},
  ) {}

  /** Cells running or waiting their turn in a session. */
  get cellsInFlight(): number {
    return this.inFlight.size;
  }

  /** Sessions open now. */
  get size(): number {
    return this.openCount;
  }

  async open(principal: Principal, options: SessionOpenOptions): Promise<LiveSession> {
    if (this.closed) throw new HttpError(503, 'E_SHUTTING_DOWN', 'the server is shutting down', 5);
    if (this.openCount >= this.maxSessions) {
      throw new HttpError(503, 'E_TOO_MANY_SESSIONS', `the server holds its maximum of ${this.maxSessions} sessions`, 5);
    }
    const release = this.service.quotas.openSession(principal);
    let session: Session;
    try {
      session = await this.service.sandbox.openSession({ ...this.times, ...options });
    } catch (error) {
      release();
      throw error;
    }
    const live: LiveSession = { id: session.id, owner: principal.id, createdAt: new Date(), session, cells: 0 };
    this.live.set(live.id, live);
    this.openCount++;
    // Ended for any reason (closed, a limit, idle or lifetime expiry): it stops counting,
    // and is kept a while so its owner learns it ended rather than that it never was.
    void session.gone.then(() => {
      this.openCount--;
      release();
      setTimeout(() => this.live.delete(live.id), ENDED_KEPT_MS).unref();
    });
    if (this.closed) await session.close();
    return live;
  }

  /** The principal's session `id`, alive or not yet forgotten; 404 for anyone else's. */
  get(principal: Principal, id: string): LiveSession {
    const live = this.live.get(id);
    if (!live || live.owner !== principal.id) throw notFound();
    return live;
  }

  info(live: LiveSession): SessionInfo {
    return { id: live.id, alive: live.session.alive, createdAt: live.createdAt.toISOString(), cells: live.cells };
  }

  /** One cell under the key's run quota; 409 E_SESSION_ENDED once the session has ended. */
  async run(principal: Principal, live: LiveSession, code: string, options: CellOptions): Promise<CellResult> {
    if (this.closed) throw new HttpError(503, 'E_SHUTTING_DOWN', 'the server is shutting down', 5);
    const releaseQuota = this.service.quotas.startRun(principal);
    const promise = live.session.run(code, options);
    this.inFlight.add(promise);
    try {
      const result = await promise;
      live.cells++;
      this.service.count(result);
      return result;
    } finally {
      this.inFlight.delete(promise);
      releaseQuota();
    }
  }

  async close(principal: Principal, id: string): Promise<void> {
    await this.get(principal, id).session.close();
  }

  /** The MCP session tools of a connection made with `principal`'s key. */
  toolsFor(principal: Principal): McpSessionTools {
    return {
      open: async (files) => (await this.open(principal, { files })).id,
      run: (id, code, hooks) => this.run(principal, this.get(principal, id), code, hooks),
      close: (id) => this.close(principal, id),
    };
  }

  /** Refuses new sessions and cells, lets the cells in flight finish within their limits, then ends every session. */
  async drain(beforeEnd: () => void = () => {}): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
    beforeEnd();
    await Promise.allSettled([...this.live.values()].map((l) => l.session.close()));
  }
}
