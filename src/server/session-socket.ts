/**
 * GET /v1/sessions/:id/ws: a session over a WebSocket (the `ws` package on the HTTP
 * server's 'upgrade'), for consoles and notebooks that stream. Client messages (JSON
 * text, checked with zod): {type:'run', id, code}, {type:'input', data},
 * {type:'interrupt'}. Server messages: {type:'stdout'|'stderr', id, data} while cell `id`
 * runs, {type:'input_request', id, prompt}, {type:'display', id, data}, then
 * {type:'result', id, result}; a cell that could not start gets {type:'error', id, error}.
 *
 * Authentication: `Authorization: Bearer <key>`, or, from a browser (which cannot set
 * headers on a WebSocket), the subprotocols ['pybox.v1', 'pybox.bearer.<key>']; the
 * server answers 'pybox.v1'. Keys never go in the URL (URLs end up in logs). Without
 * keys the server takes a WebSocket only from a loopback Origin (or none): a WebSocket is
 * not bound by CORS, so any page could otherwise drive a local server.
 *
 * Close codes: 1000 normal; 1001 the server is going away (drain); 1008 policy (E_UNAUTHORIZED,
 * E_FORBIDDEN_HOST, E_FORBIDDEN_ORIGIN, or a message that is not valid: E_BAD_REQUEST);
 * 1009 a message over --max-body; 1011 internal error; 4404 no such session (or another
 * key's); 4410 the session has ended. The reason starts with the error code.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { MAX_CODE_BYTES } from '../sandbox/index.js';
import { ANONYMOUS, type ApiKeys, type Principal } from './api-keys.js';
import { toHttpError } from './http-error.js';
import { hostHeaderName, isLoopback } from './loopback.js';
import { runResultJson } from './run-route.js';
import type { LiveSession, SessionService } from './session-service.js';
import { formatZodIssues } from './zod-issues.js';

export const WS_PROTOCOL = 'pybox.v1';
const BEARER_PROTOCOL = 'pybox.bearer.';
const PATH = /^\/v1\/sessions\/([^/?#]{1,200})\/ws(?:\?.*)?$/;

export const WS_CLOSE = Object.freeze({
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  unknownSession: 4404,
  sessionEnded: 4410,
});

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('run'), id: z.string().min(1).max(200), code: z.string().max(MAX_CODE_BYTES) }).strict(),
  z.object({ type: z.literal('input'), data: z.string().max(1024 * 1024) }).strict(),
  z.object({ type: z.literal('interrupt') }).strict(),
]);

export interface SessionSocketDeps {
  sessions: SessionService;
  keys: ApiKeys | null;
  maxMessageBytes: number;
  draining: () => boolean;
  onError: (error: unknown) => void;
}

/** What the upgrade request says about who calls: the principal, or the close code and reason to refuse with. */
function admit(request: IncomingMessage, keys: ApiKeys | null): Principal | { code: number; reason: string } {
  if (!keys) {
    if (!isLoopback(hostHeaderName(request.headers.host))) return { code: WS_CLOSE.policy, reason: 'E_FORBIDDEN_HOST: this server has no API keys and answers only to a loopback Host' };
    const origin = request.headers.origin;
    if (origin !== undefined && !loopbackOrigin(origin)) return { code: WS_CLOSE.policy, reason: 'E_FORBIDDEN_ORIGIN: a server without keys takes WebSockets only from loopback pages' };
    return ANONYMOUS;
  }
  const offered = (request.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim());
  const bearer = offered.find((p) => p.startsWith(BEARER_PROTOCOL));
  const header = request.headers.authorization ?? (bearer ? `Bearer ${bearer.slice(BEARER_PROTOCOL.length)}` : undefined);
  return keys.authenticate(header) ?? { code: WS_CLOSE.policy, reason: 'E_UNAUTHORIZED: a valid API key is required' };
}

function loopbackOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return (url.protocol === 'http:' || url.protocol === 'https:') && isLoopback(url.hostname);
  } catch {
    return false;
  }
}

export class SessionSockets {
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<WebSocket>();

  constructor(private readonly deps: SessionSocketDeps) {
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: deps.maxMessageBytes,
      handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    });
  }

  get size(): number {
    return this.sockets.size;
  }

  attach(server: Server): void {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const match = PATH.exec(request.url ?? '');
      if (!match || this.deps.draining()) {
        const status = match ? '503 Service Unavailable' : '404 Not Found';
        socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, request, decodeURIComponentSafe(match[1] as string)));
    });
  }

  private accept(ws: WebSocket, request: IncomingMessage, id: string): void {
    const who = admit(request, this.deps.keys);
    if ('code' in who) return ws.close(who.code, who.reason);
    let live: LiveSession;
    try {
      live = this.deps.sessions.get(who, id);
    } catch {
      return ws.close(WS_CLOSE.unknownSession, 'E_NOT_FOUND: no such session');
    }
    if (!live.session.alive) return ws.close(WS_CLOSE.sessionEnded, 'E_SESSION_ENDED: the session has ended');
    this.sockets.add(ws);
    new SocketSession(ws, who, live, this.deps).start();
    ws.once('close', () => this.sockets.delete(ws));
  }

  /** Closes every socket (a drain: 1001, after the cells in flight are done). */
  closeAll(code: number = WS_CLOSE.goingAway): void {
    for (const ws of this.sockets) ws.close(code, 'the server is going away');
  }
}

/** One socket on one session: its cells, their output, and the input lines it sends. */
class SocketSession {
  private readonly cells = new Set<Promise<void>>();
  private readonly lines: string[] = [];
  private waiting: { resolve: (line: string) => void; reject: (e: Error) => void } | null = null;
  private closed = false;

  constructor(
    private readonly ws: WebSocket,
    private readonly principal: Principal,
    private readonly live: LiveSession,
    private readonly deps: SessionSocketDeps,
  ) {}

  start(): void {
    this.ws.on('message', (data, isBinary) => this.onMessage(data.toString(), isBinary));
    this.ws.on('error', () => {}); // a frame over maxPayload: ws closes with 1009 itself
    this.ws.once('close', () => {
      this.closed = true;
      this.waiting?.reject(new Error('the socket closed'));
      this.waiting = null;
    });
    // An ended session closes its sockets once the results of their cells are out.
    void this.live.session.gone.then(async () => {
      await Promise.allSettled([...this.cells]);
      this.close(WS_CLOSE.sessionEnded, 'E_SESSION_ENDED: the session has ended');
    });
  }

  private send(message: Record<string, unknown>): void {
    if (!this.closed) this.ws.send(JSON.stringify(message));
  }

  private close(code: number, reason: string): void {
    if (!this.closed) this.ws.close(code, reason.slice(0, 120));
    this.closed = true;
  }

  private onMessage(text: string, isBinary: boolean): void {
    let message: z.infer<typeof clientMessageSchema>;
    try {
      if (isBinary) throw new Error('binary messages are not taken');
      const parsed = clientMessageSchema.safeParse(JSON.parse(text));
      if (!parsed.success) throw new Error(formatZodIssues(parsed.error, 100));
      message = parsed.data;
    } catch (error) {
      return this.close(WS_CLOSE.policy, `E_BAD_REQUEST: ${(error as Error).message}`);
    }
    if (message.type === 'run') this.run(message.id, message.code);
    else if (message.type === 'interrupt') void this.live.session.interrupt();
    else if (this.waiting) {
      this.waiting.resolve(message.data);
      this.waiting = null;
    } else if (this.cells.size > 0) this.lines.push(message.data);
  }

  private run(id: string, code: string): void {
    const cell = this.deps.sessions
      .run(this.principal, this.live, code, {
        onStdout: (data) => this.send({ type: 'stdout', id, data }),
        onStderr: (data) => this.send({ type: 'stderr', id, data }),
        onDisplay: (output) => this.send({ type: 'display', id, data: output.data }),
        onInput: (prompt) => {
          this.send({ type: 'input_request', id, prompt });
          const line = this.lines.shift();
          if (line !== undefined) return line;
          return new Promise<string>((resolve, reject) => (this.waiting = { resolve, reject }));
        },
      })
      .then(
        (result) => {
          this.send({ type: 'result', id, result: runResultJson(result) });
        },
        (error: unknown) => {
          const e = toHttpError(error);
          if (e.code === 'E_SESSION_ENDED') return; // the socket closes with 4410
          if (e.status >= 500 && e.code === 'E_INTERNAL') {
            this.deps.onError(error);
            return this.close(WS_CLOSE.internal, 'E_INTERNAL: internal error');
          }
          this.send({ type: 'error', id, error: { code: e.code, message: e.message } });
        },
      )
      .finally(() => {
        this.cells.delete(cell);
        if (this.cells.size === 0) this.lines.length = 0; // typed-ahead lines belong to the cells that ran
      });
    this.cells.add(cell);
  }
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
