/**
 * /v1/sessions over plain HTTP: open (201 {id}), run a cell (the CellResult), interrupt
 * (202), look (GET) and end (DELETE 204). The WebSocket of a session is session-socket.ts.
 */
import type { FastifyInstance } from 'fastify';
import type { CellOptions, SessionOpenOptions } from '../sandbox/index.js';
import { principalOf } from './app.js';
import { HttpError } from './http-error.js';
import type { ServerMetrics } from './metrics.js';
import { checkAllowed, decodeFiles, runResultJson, type RunPolicy } from './run-route.js';
import { cellRequestSchema, sessionOpenSchema } from './schemas.js';
import type { SessionService } from './session-service.js';
import { formatZodIssues } from './zod-issues.js';

export interface SessionRouteDeps {
  sessions: SessionService;
  policy: RunPolicy;
  metrics: ServerMetrics;
}

/** A POST /v1/sessions body (absent or empty: the server's defaults) as the façade's options. */
export function parseSessionOpen(body: unknown, policy: RunPolicy): SessionOpenOptions {
  const parsed = sessionOpenSchema.safeParse(body ?? {});
  if (!parsed.success) throw new HttpError(400, 'E_BAD_REQUEST', `invalid session request: ${formatZodIssues(parsed.error)}`);
  const req = parsed.data;
  checkAllowed(req, policy);
  const options: SessionOpenOptions = {};
  if (req.limits !== undefined) options.limits = req.limits;
  if (req.policy !== undefined) options.policy = req.policy;
  if (req.files !== undefined) options.files = decodeFiles(req.files);
  return options;
}

export function registerSessionRoutes(app: FastifyInstance, deps: SessionRouteDeps): void {
  const { sessions } = deps;
  type ById = { Params: { id: string } };

  app.post('/v1/sessions', async (request, reply) => {
    const live = await sessions.open(principalOf(request), parseSessionOpen(request.body, deps.policy));
    return reply.code(201).send({ id: live.id });
  });

  app.post<ById>('/v1/sessions/:id/run', async (request, reply) => {
    const started = performance.now();
    const principal = principalOf(request);
    const live = sessions.get(principal, request.params.id);
    const parsed = cellRequestSchema.safeParse(request.body);
    if (!parsed.success) throw new HttpError(400, 'E_BAD_REQUEST', `invalid cell request: ${formatZodIssues(parsed.error)}`);
    const options: CellOptions = {};
    if (parsed.data.stdin !== undefined) options.stdin = parsed.data.stdin;
    const result = await sessions.run(principal, live, parsed.data.code, options);
    deps.metrics.requestDuration.observe({ route: '/v1/sessions/:id/run' }, (performance.now() - started) / 1000);
    return reply.code(200).send(runResultJson(result));
  });

  app.post<ById>('/v1/sessions/:id/interrupt', async (request, reply) => {
    await sessions.get(principalOf(request), request.params.id).session.interrupt();
    return reply.code(202).send();
  });

  app.get<ById>('/v1/sessions/:id', async (request) => sessions.info(sessions.get(principalOf(request), request.params.id)));

  app.delete<ById>('/v1/sessions/:id', async (request, reply) => {
    await sessions.close(principalOf(request), request.params.id);
    return reply.code(204).send();
  });
}
