/**
 * Warm jails and zygotes are unref'd so that idle ones never keep Node alive. Whoever
 * awaits one of them (start-up, a fork, close) holds the event loop open with this.
 */
export function keepAlive<T>(promise: Promise<T>): Promise<T> {
  const timer = setInterval(() => undefined, 1 << 30);
  return promise.finally(() => clearInterval(timer));
}
