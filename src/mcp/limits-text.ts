import type { Limits } from '../sandbox/index.js';

/** The limits every call runs under, in one sentence for a tool's description. */
export function limitsText(l: Readonly<Limits>): string {
  return `Each call is limited to ${l.timeoutMs} ms wall time, ${l.cpuMs} ms CPU, ${l.memoryMiB} MiB memory, ${l.outputBytes} bytes of output; no network.`;
}
