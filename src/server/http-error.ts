import { isPyboxError } from '../sandbox/index.js';

/** Stable codes of the HTTP API's errors (`{ error: { code, message } }`). */
export type HttpErrorCode =
  | 'E_BAD_REQUEST' // not JSON, or JSON that fails the schema
  | 'E_UNAUTHORIZED' // no key, or not a known key
  | 'E_FORBIDDEN_HOST' // no keys, and a Host header that is not loopback (DNS rebinding)
  | 'E_NOT_FOUND' // unknown path, or an MCP session of another key
  | 'E_METHOD_NOT_ALLOWED'
  | 'E_BODY_TOO_LARGE' // over --max-body
  | 'E_UNSUPPORTED_MEDIA_TYPE'
  | 'E_QUOTA' // over one of the key's quotas
  | 'E_BUSY' // the queue in front of the sandbox is full
  | 'E_SHUTTING_DOWN' // draining after SIGTERM
  | 'E_TOO_MANY_SESSIONS' // --max-sessions sessions are open
  | 'E_SESSION_ENDED' // a cell for a session that has ended (409)
  | 'E_SESSION_BUSY' // a session's cell queue is full
  | 'E_FORBIDDEN_ORIGIN' // a WebSocket from a page whose Origin is not loopback, on a server without keys
  | 'E_INTERNAL'; // a bug in pybox: logged, never shown with a stack

/** An error answered as JSON with `status`; `retryAfter` (seconds) goes out as Retry-After. */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly code: HttpErrorCode | string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

/**
 * Any thrown value as an HttpError. A PyboxError about the caller's input is a 400 with
 * pybox's own code (E_CODE_INVALID, E_FILE_INVALID...); anything else is a 500 whose
 * message names no internals.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (isPyboxError(error)) {
    if (error.code === 'E_SANDBOX_CLOSED') return new HttpError(503, 'E_SHUTTING_DOWN', 'the server is shutting down', 5);
    if (error.code === 'E_SESSION_ENDED') return new HttpError(409, error.code, error.message);
    if (error.code === 'E_SESSION_BUSY') return new HttpError(503, error.code, error.message, 1);
    if (error.code === 'E_TOO_MANY_SESSIONS') return new HttpError(503, error.code, error.message, 5);
    if (error.code === 'E_INTERNAL' || error.code === 'E_JAIL_UNAVAILABLE' || error.code === 'E_PYTHON_NOT_FOUND') {
      return new HttpError(500, error.code, error.message.split('\n')[0] ?? error.code);
    }
    return new HttpError(400, error.code, error.message.split('\n')[0] ?? error.code);
  }
  return new HttpError(500, 'E_INTERNAL', 'internal error');
}

export function errorBody(error: HttpError): ErrorBody {
  return { error: { code: error.code, message: error.message } };
}
