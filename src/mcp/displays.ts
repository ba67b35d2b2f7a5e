/**
 * Rich output (display() and open figures) of a run or cell, as far as the result holds
 * it: the one place the server's WebSocket and the MCP tools read it from. A result
 * without `outputs` (a build before rich output) has none.
 */
import type { RunResult } from '../sandbox/index.js';

export interface DisplayOutput {
  /** MIME type -> content (text, or base64 for binary types such as image/png), as Jupyter's display data. */
  data: Record<string, unknown>;
  metadata?: Record<string, unknown>;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export function displaysOf(result: RunResult): DisplayOutput[] {
  const outputs = (result as { outputs?: unknown }).outputs;
  if (!Array.isArray(outputs)) return [];
  return outputs.flatMap((o: unknown) =>
    isRecord(o) && o.type === 'display' && isRecord(o.data) ? [{ data: o.data, ...(isRecord(o.metadata) ? { metadata: o.metadata } : {}) }] : [],
  );
}

/** A display's data as JSON: binary content as base64 text. */
export function displayJson(d: DisplayOutput): Record<string, unknown> {
  return Object.fromEntries(Object.entries(d.data).map(([mime, v]) => [mime, v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v]));
}

/** The image/png displays of a result as MCP image content. */
export function imageContent(result: RunResult): { type: 'image'; data: string; mimeType: 'image/png' }[] {
  return displaysOf(result).flatMap((d) => {
    const png = displayJson(d)['image/png'];
    return typeof png === 'string' && png !== '' ? [{ type: 'image' as const, data: png, mimeType: 'image/png' as const }] : [];
  });
}
