/**
 * MCP over streamable HTTP at /mcp. Each MCP session has its own McpServer and workspace,
 * belongs to the key that opened it (another key gets 404, as for an unknown session),
 * counts against that key's session quota and the server's --max-sessions, and is closed
 * after `idleMs` without a request, or when the server drains.
 */
import { randomUUID } from 'node:crypto';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createPyboxMcpServer, type PyboxMcpOptions } from '../mcp/mcp-server.js';
import type { Principal } from './api-keys.js';
import { principalOf, sendError } from './app.js';
import { HttpError, toHttpError } from './http-error.js';
import type { RunService } from './run-service.js';
import type { SessionService } from './session-service.js';

interface McpSession {
  transport: StreamableHTTPServerTransport;
  owner: string;
  idle: NodeJS.Timeout | null;
}

export interface McpRouteOptions {
  service: RunService;
  sessions: SessionService;
  mcp: Omit<PyboxMcpOptions, 'run' | 'sessions'>;
  maxSessions: number;
  idleMs: number;
}

export class McpSessions {
  private readonly sessions = new Map<string, McpSession>();

  constructor(private readonly options: McpRouteOptions) {}

  get size(): number {
    return this.sessions.size;
  }

  register(app: FastifyInstance): void {
    app.route({ method: ['GET', 'POST', 'DELETE'], url: '/mcp', handler: (request, reply) => this.handle(request, reply) });
  }

  private async handle(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const principal = principalOf(request);
    const header = request.headers['mcp-session-id'];
    const id = typeof header === 'string' ? header : undefined;
    let session: McpSession | undefined;
    if (id !== undefined) {
      session = this.sessions.get(id);
      if (!session || session.owner !== principal.id) {
        sendError(reply, new HttpError(404, 'E_NOT_FOUND', 'no such MCP session (it ended, or was never opened with this key): initialize a new one'));
        return;
      }
    } else if (request.method === 'POST' && isInitializeRequest(request.body)) {
      try {
        session = await this.open(principal);
      } catch (error) {
        sendError(reply, toHttpError(error));
        return;
      }
    } else {
      sendError(reply, new HttpError(400, 'E_BAD_REQUEST', 'an MCP request needs an Mcp-Session-Id header, or must be an initialize request'));
      return;
    }
    this.touch(session);
    reply.hijack();
    try {
      await session.transport.handleRequest(request.raw, reply.raw, request.body);
      // An initialize request the transport refused opened no session: let its slot go.
      if (session.transport.sessionId === undefined) await session.transport.close();
    } catch (error) {
      request.log.error({ err: error, reqId: request.id }, 'MCP request failed');
      if (!reply.raw.headersSent) reply.raw.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'E_INTERNAL', message: 'internal error' } }));
    }
  }

  private async open(principal: Principal): Promise<McpSession> {
    if (this.sessions.size >= this.options.maxSessions) {
      throw new HttpError(503, 'E_BUSY', `the server holds its maximum of ${this.options.maxSessions} MCP sessions`, 5);
    }
    const release = this.options.service.quotas.openSession(principal);
    const { server, closeSessions } = createPyboxMcpServer({
      ...this.options.mcp,
      run: (code, opts) => this.options.service.run(principal, code, opts),
      sessions: this.options.sessions.toolsFor(principal),
    });
    const session: McpSession = {
      owner: principal.id,
      idle: null,
      transport: new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sid) => void this.sessions.set(sid, session),
      }),
    };
    session.transport.onclose = () => {
      if (session.idle) clearTimeout(session.idle);
      if (session.transport.sessionId) this.sessions.delete(session.transport.sessionId);
      release();
      void closeSessions();
      void server.close().catch(() => {});
    };
    try {
      await server.connect(session.transport);
    } catch (error) {
      release();
      throw error;
    }
    return session;
  }

  private touch(session: McpSession): void {
    if (session.idle) clearTimeout(session.idle);
    session.idle = setTimeout(() => void session.transport.close().catch(() => {}), this.options.idleMs);
    session.idle.unref();
  }

  /** Ends every session (a call in flight still finishes: its run holds a queue slot the drain waits for). */
  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.sessions.values()].map((s) => s.transport.close()));
  }
}
