/**
 * One pino line per request instead of fastify's two ("incoming request" and "request
 * completed", each through the req/res serializers), and no child logger per request:
 * request.log is the server's logger and the lines that concern a request name its
 * reqId themselves. Both were a fixed cost of every run over HTTP, paid even with the
 * level above info.
 */
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

export class RequestLog extends LogController {
  /** `keyOf`: the id of the key that made a request (a hash prefix, never the key), if one did. */
  constructor(
    private readonly logger: Logger,
    private readonly keyOf: (request: FastifyRequest) => string | undefined,
  ) {
    super();
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (!error && !this.logger.isLevelEnabled('info')) return;
    const line = {
      reqId: request.id,
      method: request.method,
      url: request.url.slice(0, 200),
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 1000) / 1000,
      key: this.keyOf(request),
    };
    if (error) this.logger.error({ ...line, err: error }, 'request errored');
    else this.logger.info(line, 'request completed');
  }
}

/** Fastify's childLoggerFactory: the server's own logger, not a child per request. */
export function sameLogger(logger: FastifyBaseLogger): FastifyBaseLogger {
  return logger;
}
