import { z } from 'zod';
import {
  cellRequestSchema,
  cellResponseSchema,
  errorSchema,
  healthSchema,
  readySchema,
  runRequestSchema,
  runResponseSchema,
  sessionCreatedSchema,
  sessionInfoSchema,
  sessionOpenSchema,
} from './schemas.js';

const json = (schema: z.ZodType, io: 'input' | 'output' = 'output') => ({
  'application/json': { schema: z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) },
});

const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), { description: ERROR_TEXT[s] ?? 'error', content: json(errorSchema) }]));

const ERROR_TEXT: Record<number, string> = {
  400: 'bad JSON, or a body that fails the schema (code E_BAD_REQUEST, or pybox\'s own E_CODE_INVALID, E_FILE_INVALID, E_LIMIT_INVALID, E_OPTIONS_INVALID)',
  401: 'missing or unknown API key',
  404: 'no such session (or one of another key)',
  409: 'the session has ended (E_SESSION_ENDED)',
  413: 'body over the server\'s --max-body',
  415: 'body not application/json',
  429: 'over one of the key\'s quotas (Retry-After says when to try again)',
  503: 'the run queue is full, --max-sessions sessions are open (E_TOO_MANY_SESSIONS), a session\'s cell queue is full (E_SESSION_BUSY), or the server is draining (Retry-After)',
};

const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

/** The OpenAPI 3 document of the HTTP API, generated from the schemas the server validates with. */
export function openApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: '3.0.3',
    info: { title: 'pybox', version, description: 'Run untrusted Python in a Linux jail.' },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    paths: {
      '/v1/run': {
        post: {
          summary: 'Run a program in a fresh jail',
          security: [{ bearer: [] }],
          requestBody: { required: true, content: json(runRequestSchema, 'input') },
          responses: { '200': { description: 'the RunResult (files base64)', content: json(runResponseSchema) }, ...errors(400, 401, 413, 415, 429, 503) },
        },
      },
      '/v1/sessions': {
        post: {
          summary: 'Open a session: a live interpreter in a jail of its own, whose names persist from cell to cell',
          security: [{ bearer: [] }],
          requestBody: { required: false, content: json(sessionOpenSchema, 'input') },
          responses: { '201': { description: 'opened', content: json(sessionCreatedSchema) }, ...errors(400, 401, 413, 415, 429, 503) },
        },
      },
      '/v1/sessions/{id}': {
        parameters: [idParam],
        get: { summary: 'A session: whether it is alive, when it opened, how many cells it ran', security: [{ bearer: [] }], responses: { '200': { description: 'the session', content: json(sessionInfoSchema) }, ...errors(401, 404) } },
        delete: { summary: 'End a session', security: [{ bearer: [] }], responses: { '204': { description: 'ended' }, ...errors(401, 404) } },
      },
      '/v1/sessions/{id}/run': {
        parameters: [idParam],
        post: {
          summary: 'Run a cell in the session (one at a time; a few more wait their turn)',
          security: [{ bearer: [] }],
          requestBody: { required: true, content: json(cellRequestSchema, 'input') },
          responses: { '200': { description: 'the CellResult', content: json(cellResponseSchema) }, ...errors(400, 401, 404, 409, 413, 415, 429, 503) },
        },
      },
      '/v1/sessions/{id}/interrupt': {
        parameters: [idParam],
        post: { summary: 'Raise KeyboardInterrupt in the running cell', security: [{ bearer: [] }], responses: { '202': { description: 'asked' }, ...errors(401, 404) } },
      },
      '/v1/sessions/{id}/ws': {
        parameters: [idParam],
        get: {
          summary: 'The session over a WebSocket (see README "serve": messages and close codes)',
          description:
            "Client: {type:'run', id, code}, {type:'input', data}, {type:'interrupt'}. Server: {type:'stdout'|'stderr', id, data}, {type:'input_request', id, prompt}, {type:'display', id, data}, {type:'result', id, result}, {type:'error', id, error}. " +
            'Close codes: 1000 normal, 1001 going away, 1008 policy (auth, origin, bad message), 1009 too big, 1011 internal, 4404 unknown session, 4410 session ended.',
          security: [{ bearer: [] }],
          responses: { '101': { description: 'switching protocols' }, '404': { description: 'not a session socket path' }, '503': { description: 'draining' } },
        },
      },
      '/healthz': { get: { summary: 'Whether jails can be made', responses: { '200': { description: 'healthy', content: json(healthSchema) }, '503': { description: 'unhealthy', content: json(healthSchema) } } } },
      '/readyz': { get: { summary: 'Whether the server takes runs now (warm capacity, queue room)', responses: { '200': { description: 'ready', content: json(readySchema) }, '503': { description: 'not ready', content: json(readySchema) } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/mcp': { post: { summary: 'MCP over streamable HTTP (tools run_python_code, upload_file, retrieve_file, delete_file, open_session, run_in_session, close_session)', security: [{ bearer: [] }], responses: { '200': { description: 'JSON-RPC answer or SSE stream' }, ...errors(400, 401, 404, 429) } } },
    },
  };
}
