import { StringDecoder } from 'node:string_decoder';

/** Called with the program's output as it arrives: the bytes `result.stdout` / `result.stderr` get. */
export type OutputListener = (stream: 'stdout' | 'stderr', chunk: Uint8Array) => void;

/**
 * The caller's text listeners as one byte listener: one UTF-8 decoder per stream, so a
 * character split across two pipe reads reaches the listener whole. Null when neither is set.
 */
export function textListener(onStdout?: (chunk: string) => void, onStderr?: (chunk: string) => void): OutputListener | null {
  if (!onStdout && !onStderr) return null;
  const decoders = { stdout: new StringDecoder('utf8'), stderr: new StringDecoder('utf8') };
  return (stream, chunk) => {
    const listener = stream === 'stdout' ? onStdout : onStderr;
    if (!listener) return;
    const text = decoders[stream].write(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (text) listener(text);
  };
}
