import type { DisplayOutput } from '../sandbox/index.js';

/** Rich outputs written by --out-dir, by MIME type: the file extension each gets. */
const IMAGE_EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/svg+xml': 'svg' };
const BASE64_TYPES = new Set(['image/png', 'image/jpeg']);

/** The MIME type an output stands for: its first besides text/plain, else text/plain. */
function mainType(output: DisplayOutput): string {
  return Object.keys(output.data).find((t) => t !== 'text/plain') ?? 'text/plain';
}

function bytesOf(type: string, content: string): Buffer {
  return BASE64_TYPES.has(type) ? Buffer.from(content, 'base64') : Buffer.from(content, 'utf8');
}

function size(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${Math.round(bytes / 1024)} KiB`;
}

/**
 * The line `pybox run` writes to stderr for a rich output it cannot show in a terminal:
 * "[display: image/png, 12 KiB]" (the type's name is a checked MIME type: no escapes).
 */
export function displayNote(output: DisplayOutput): string {
  const type = mainType(output);
  return `[display: ${type}, ${size(bytesOf(type, output.data[type] ?? '').length)}]`;
}

/** The images among the outputs as files for --out-dir: display-<n>.<ext>, n from 1 in output order. */
export function displayImages(outputs: readonly DisplayOutput[]): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = {};
  outputs.forEach((output, i) => {
    const type = Object.keys(IMAGE_EXTENSIONS).find((t) => t in output.data);
    if (type) files[`display-${i + 1}.${IMAGE_EXTENSIONS[type]}`] = bytesOf(type, output.data[type]!);
  });
  return files;
}
