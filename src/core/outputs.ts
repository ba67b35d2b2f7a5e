/**
 * Rich output: what a program shows besides its text (display(obj), matplotlib figures),
 * as Jupyter's MIME bundles. Guest-made: every bundle was checked at the frame boundary
 * (src/guest/display-frames.ts), nothing in it is trusted to be what its type says.
 */
export interface DisplayOutput {
  type: 'display';
  /** MIME type -> content: text types as text, binary types (image/png, image/jpeg) as base64. */
  data: Record<string, string>;
  metadata?: Record<string, unknown>;
  /** How many characters (UTF-16 units, as `result.stdout` counts them) of stdout came before it. */
  stdoutOffset: number;
}

/** Outputs one run or cell may make; past it they are dropped and `truncated.display` is set. */
export const MAX_OUTPUTS = 10_000;

/** Called with each output as it arrives (its stdoutOffset counts the stdout read so far). */
export type DisplayListener = (output: DisplayOutput) => void;
