import { z } from 'zod';
import { errorSchema, healthSchema, readySchema, runRequestSchema, runResponseSchema } from './schemas.js';

const json = (schema: z.ZodType, io: 'input' | 'output' = 'output') => ({
  'application/json': { schema: z.toJSONSchema(schema, { target: 'openapi-3.0', io, unrepresentable: 'any' }) },
});

const errors = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [String(s), { description: ERROR_TEXT[s] ?? 'error', content: json(errorSchema) }]));

const ERROR_TEXT: Record<number, string> = {
  400: 'bad JSON, or a body that fails the schema (code E_BAD_REQUEST, or pybox\'s own E_CODE_INVALID, E_FILE_INVALID, E_LIMIT_INVALID, E_OPTIONS_INVALID)',
  401: 'missing or unknown API key',
  413: 'body over the server\'s --max-body',
  415: 'body not application/json',
  429: 'over one of the key\'s quotas (Retry-After says when to try again)',
  503: 'the run queue is full, or the server is draining (Retry-After)',
};

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
      '/healthz': { get: { summary: 'Whether jails can be made', responses: { '200': { description: 'healthy', content: json(healthSchema) }, '503': { description: 'unhealthy', content: json(healthSchema) } } } },
      '/readyz': { get: { summary: 'Whether the server takes runs now (warm capacity, queue room)', responses: { '200': { description: 'ready', content: json(readySchema) }, '503': { description: 'not ready', content: json(readySchema) } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition format', content: { 'text/plain': { schema: { type: 'string' } } } } } } },
      '/mcp': { post: { summary: 'MCP over streamable HTTP (tools run_python_code, upload_file, retrieve_file, delete_file)', security: [{ bearer: [] }], responses: { '200': { description: 'JSON-RPC answer or SSE stream' }, ...errors(400, 401, 404, 429) } } },
    },
  };
}
