import type { z } from 'zod';

/** A zod error as one line: `path: message; ...`, cut to a length fit for a response. */
export function formatZodIssues(error: z.ZodError, max = 1000): string {
  const text = error.issues.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`).join('; ');
  return text.length > max ? text.slice(0, max) + '...' : text;
}
