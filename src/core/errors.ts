/** Stable error codes: callers branch on `code`, never on message text. */
export type PyboxErrorCode =
  | 'E_OPTIONS_INVALID' // a run or sandbox option failed validation
  | 'E_LIMIT_INVALID' // a limit is out of range or of the wrong type
  | 'E_CODE_INVALID' // the code is not a string, too large, or not UTF-8
  | 'E_FILE_INVALID' // an input file name or content is not acceptable
  | 'E_JAIL_UNAVAILABLE' // bubblewrap, namespaces or seccomp cannot be used here
  | 'E_PYTHON_NOT_FOUND' // the configured interpreter does not exist
  | 'E_SANDBOX_CLOSED' // run() after close()
  | 'E_SESSION_ENDED' // a session's run() after it ended (closed, a limit, idle or lifetime expiry)
  | 'E_SESSION_BUSY' // a session's run() with MAX_QUEUED_CELLS cells already waiting
  | 'E_TOO_MANY_SESSIONS' // openSession() with maxSessions sessions open
  | 'E_UNSUPPORTED' // this backend cannot do what was asked (yet)
  | 'E_INTERNAL'; // a bug in pybox; the message says what broke

export class PyboxError extends Error {
  override readonly name = 'PyboxError';
  constructor(
    readonly code: PyboxErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isPyboxError(value: unknown): value is PyboxError {
  return value instanceof PyboxError;
}
