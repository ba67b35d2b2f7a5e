/** Rich output (display() and open figures) of a run or cell as MCP content. */
import type { RunResult } from '../sandbox/index.js';

/** The image/png outputs of a result (base64 already) as MCP image content, in the order made. */
export function imageContent(result: RunResult): { type: 'image'; data: string; mimeType: 'image/png' }[] {
  return result.outputs.flatMap((o) => {
    const png = o.data['image/png'];
    return typeof png === 'string' && png !== '' ? [{ type: 'image' as const, data: png, mimeType: 'image/png' as const }] : [];
  });
}
