/**
 * run_python_code's answer in mcp-run-python's form, so an agent written for it reads
 * pybox's unchanged: `<status>success|run-error</status>`, then `<output>` with the
 * printed lines (stdout and stderr in the order written), then `<return_value>` or
 * `<error>`, each tag on its own line; or, with return mode json, one JSON object.
 */

export interface CallOutcome {
  status: 'success' | 'run-error';
  output: string[];
  /** The last expression's value as text (JSON where it can be), null when it was None or absent. */
  returnValue: string | null;
  error: string | null;
}

/** A closing (or opening) tag of `tag` inside a section would end it early: escape it. */
function escapeTag(tag: string): (text: string) => string {
  const re = new RegExp(`</?\\s*${tag}(?:.*?>)?`, 'gi');
  return (text) => text.replace(re, (m) => m.replace(/</g, '&lt;').replace(/>/g, '&gt;'));
}

export function asTagged(o: CallOutcome): string {
  const lines = [`<status>${o.status}</status>`];
  if (o.output.length > 0) lines.push('<output>', ...o.output.map(escapeTag('output')), '</output>');
  if (o.status === 'success') {
    if (o.returnValue !== null) lines.push('<return_value>', escapeTag('return_value')(o.returnValue), '</return_value>');
  } else {
    lines.push('<error>', escapeTag('error')(o.error ?? ''), '</error>');
  }
  return lines.join('\n');
}

export function asJson(o: CallOutcome): string {
  const body: Record<string, unknown> = { status: o.status, output: o.output };
  if (o.status === 'success') body.return_value = o.returnValue === null ? null : parseOrText(o.returnValue);
  else body.error = o.error;
  return JSON.stringify(body);
}

function parseOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Printed text as lines, as a line-buffered console hands them over (no trailing empty line). */
export function outputLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
