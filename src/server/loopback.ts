import { isIP } from 'node:net';

/** Whether `host` (a listen address or a Host header's name) is this machine's loopback only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1';
  return false;
}

/** The host name of a Host header ("127.0.0.1:8000", "[::1]:8000"), without the port. */
export function hostHeaderName(header: string | undefined): string {
  if (!header) return '';
  const m = /^(\[[^\]]*\]|[^:]*)(?::\d+)?$/.exec(header);
  return m?.[1] ?? '';
}

let lastHost: { header: string | undefined; loopback: boolean } = { header: undefined, loopback: false };

/** Whether a Host header names this machine's loopback; the last answer is kept (clients send the same Host every time). */
export function loopbackHost(header: string | undefined): boolean {
  if (header !== lastHost.header) lastHost = { header, loopback: isLoopback(hostHeaderName(header)) };
  return lastHost.loopback;
}
