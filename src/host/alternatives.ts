import { readdirSync, readlinkSync, statSync } from 'node:fs';

/** One `/etc/alternatives` link the jail recreates: `/etc/alternatives/<name>` -> `target`. */
export interface AlternativeLink {
  name: string;
  target: string;
}

/**
 * Debian resolves some shared libraries through `/etc/alternatives`: numpy's
 * `libblas.so.3` and `liblapack.so.3` are links in /usr to `/etc/alternatives/...`, which
 * point back into /usr at the BLAS the admin chose (OpenBLAS, reference BLAS, ...). The
 * jail has no host /etc, so the loader found nothing. The jail gets these links, and only
 * these: shared libraries (the name holds `.so`) whose target is an absolute path under
 * one of the read-only roots and is a regular file there, so a link only names a file the
 * jail can already read. A link's name and target say which BLAS is chosen, nothing more.
 */
export function libraryAlternatives(roots: readonly string[], dir = '/etc/alternatives'): AlternativeLink[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const links: AlternativeLink[] = [];
  for (const name of names.sort()) {
    if (!/\.so(?:[.-]|$)/.test(name) || !/^[\w.+-]+$/.test(name)) continue;
    try {
      const target = readlinkSync(`${dir}/${name}`);
      if (!target.startsWith('/') || target.split('/').includes('..')) continue;
      if (!roots.some((root) => target.startsWith(root + '/'))) continue;
      if (!statSync(target).isFile()) continue;
      links.push({ name, target });
    } catch {
      /* not a link, or dangling */
    }
  }
  return links;
}
