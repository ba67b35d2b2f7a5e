/**
 * A safe workspace-relative path, or null. Accepts `a/b.txt` and `/workspace/a/b.txt`;
 * refuses absolute paths elsewhere, `..`, empty or dot components, NUL and control bytes.
 */
export function normaliseWorkspacePath(input: string): string | null {
  let path = input;
  if (path.startsWith('/workspace/')) path = path.slice('/workspace/'.length);
  if (path.length === 0 || path.length > 4096 || path.startsWith('/')) return null;
  const parts = path.split('/');
  for (const part of parts) {
    if (part === '' || part === '.' || part === '..' || part.length > 255) return null;
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f]/.test(part)) return null;
  }
  return parts.join('/');
}
