/**
 * The HTTP API on fastify: routes, authentication, the JSON error shape. Everything that
 * runs code goes through the RunService (quota, bounded queue, sandbox).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ANONYMOUS, type ApiKeys, type Principal } from './api-keys.js';
import { errorBody, HttpError, toHttpError } from './http-error.js';
import type { ServerMetrics } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { parseRunRequest, runResultJson, type RunPolicy } from './run-route.js';
import type { RunService } from './run-service.js';
import type { HealthProbe } from './health.js';
import { registerSessionRoutes } from './session-routes.js';
import type { SessionService } from './session-service.js';
import { loopbackHost } from './loopback.js';
import { RequestLog, sameLogger } from './request-log.js';

export interface AppDeps {
  service: RunService;
  sessions: SessionService;
  keys: ApiKeys | null;
  policy: RunPolicy;
  metrics: ServerMetrics;
  health: HealthProbe;
  logger: Logger;
  maxBodyBytes: number;
  version: string;
  /** True once the server drains: new requests get 503. */
  draining: () => boolean;
}

const principals = new WeakMap<FastifyRequest, Principal>();

/** The key that made an authenticated request (ANONYMOUS when the server has no keys). */
export function principalOf(request: FastifyRequest): Principal {
  return principals.get(request) ?? ANONYMOUS;
}

/** Paths anyone may read: health for load balancers, metrics for scrapers, the API's description. */
const OPEN_PATHS = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json']);

export function sendError(reply: FastifyReply, error: HttpError): FastifyReply {
  if (error.retryAfter !== undefined) void reply.header('Retry-After', String(error.retryAfter));
  return reply.code(error.status).type('application/json').send(errorBody(error));
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: deps.maxBodyBytes,
    return503OnClosing: false, // the onRequest hook answers 503 in our own error shape
    logController: new RequestLog(deps.logger, (request) => principals.get(request)?.id),
    childLoggerFactory: sameLogger,
    // The router's own refusals (a path parameter over its length cap) in the API's shape too.
    frameworkErrors: (error, _request, reply) => void sendError(reply, fastifyError(error)),
  });

  // A callback hook, not an async one: one promise and a microtask less on every request.
  app.addHook('onRequest', (request, reply, done) => {
    if (deps.draining()) return void sendError(reply, new HttpError(503, 'E_SHUTTING_DOWN', 'the server is shutting down', 5));
    if (!deps.keys && !loopbackHost(request.headers.host)) {
      // Without keys the server is reachable from this machine only; a page that rebinds
      // a DNS name to 127.0.0.1 still sends its own name as Host.
      return void sendError(reply, new HttpError(403, 'E_FORBIDDEN_HOST', 'this server has no API keys and answers only to a loopback Host'));
    }
    if (!deps.keys || OPEN_PATHS.has(request.url.split('?')[0] ?? '')) return done();
    const principal = deps.keys.authenticate(request.headers.authorization);
    if (!principal) {
      void reply.header('WWW-Authenticate', 'Bearer');
      return void sendError(reply, new HttpError(401, 'E_UNAUTHORIZED', 'a valid API key is required (Authorization: Bearer <key>)'));
    }
    principals.set(request, principal);
    done();
  });

  app.setErrorHandler((error, request, reply) => {
    const e = fastifyError(error);
    if (e.status >= 500) request.log.error({ err: error, reqId: request.id }, 'request failed');
    else deps.metrics.rejected.inc({ code: e.code });
    return sendError(reply, e);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, new HttpError(404, 'E_NOT_FOUND', `no route ${request.method} ${request.url.slice(0, 200)}`)));

  app.post('/v1/run', async (request, reply) => {
    const started = performance.now();
    const { code, options } = parseRunRequest(request.body, deps.policy);
    const result = await deps.service.run(principalOf(request), code, options);
    deps.metrics.requestDuration.observe({ route: '/v1/run' }, (performance.now() - started) / 1000);
    return reply.code(200).send(runResultJson(result));
  });

  registerSessionRoutes(app, { sessions: deps.sessions, policy: deps.policy, metrics: deps.metrics });

  app.get('/healthz', async (_request, reply) => {
    const h = await deps.health.check();
    return reply.code(h.ok ? 200 : 503).send(h);
  });

  app.get('/readyz', async (_request, reply) => {
    const { service } = deps;
    const mode = service.sandbox.mode;
    const warm = mode.active === 'cold' ? 0 : mode.warmJails;
    const room = service.queue.depth < service.queue.capacity;
    const ready = room && (mode.active === 'cold' || warm > 0 || service.queue.active > 0);
    return reply.code(ready ? 200 : 503).send({ ready, warmJails: warm, queued: service.queue.depth, running: service.queue.active });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    return reply.type(deps.metrics.registry.contentType).send(text);
  });

  const doc = openApiDocument(deps.version);
  app.get('/openapi.json', async () => doc);
  return app;
}

/** Fastify's own errors (bad JSON, body too large, wrong content type) in the API's codes. */
function fastifyError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  const fe = error as { statusCode?: number; code?: string; message?: string };
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500 && typeof fe.code === 'string' && fe.code.startsWith('FST_')) {
    const code = fe.statusCode === 413 ? 'E_BODY_TOO_LARGE' : fe.statusCode === 415 ? 'E_UNSUPPORTED_MEDIA_TYPE' : fe.statusCode === 404 ? 'E_NOT_FOUND' : 'E_BAD_REQUEST';
    return new HttpError(fe.statusCode, code, (fe.message ?? code).split('\n')[0]!.slice(0, 500));
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode === 400) return new HttpError(400, 'E_BAD_REQUEST', 'malformed request');
  return toHttpError(error);
}
