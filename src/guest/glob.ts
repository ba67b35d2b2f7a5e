/**
 * Python-glob-compatible matching for collect patterns, so the host can check that a
 * file the guest sends back was actually asked for. `*` and `?` stay within one path
 * component, `**` spans components, `[...]` is a character class; dotfiles need an
 * explicit leading dot, as in Python's glob.
 */
export function globToRegExp(pattern: string): RegExp {
  let re = '^';
  const parts = pattern.split('/');
  parts.forEach((part, index) => {
    const last = index === parts.length - 1;
    if (part === '**') {
      re += last ? '(?:[^/.][^/]*(?:/[^/.][^/]*)*)?' : '(?:[^/.][^/]*/)*';
      return;
    }
    if (!part.startsWith('.') && /^[*?[]/.test(part)) re += '(?!\\.)';
    for (let i = 0; i < part.length; i++) {
      const c = part[i] as string;
      if (c === '*') re += '[^/]*';
      else if (c === '?') re += '[^/]';
      else if (c === '[') {
        const close = part.indexOf(']', i + 2);
        if (close < 0) {
          re += '\\[';
          continue;
        }
        let body = part.slice(i + 1, close);
        const negate = body.startsWith('!');
        if (negate) body = body.slice(1);
        re += `[${negate ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
        i = close;
      } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
    }
    if (!last) re += '/';
  });
  return new RegExp(re + '$', 's');
}

export function matchesAnyGlob(path: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => globToRegExp(p).test(path));
}
