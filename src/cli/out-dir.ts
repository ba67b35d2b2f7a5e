import { randomBytes } from 'node:crypto';
import { closeSync, constants, lstatSync, mkdirSync, openSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { normaliseWorkspacePath } from '../core/workspace-path.js';
import { UsageError } from './usage-error.js';

export interface OutDirReport {
  written: string[];
  /** One human-readable line per file that was not written, and why. */
  refused: string[];
}

/** Checked before the run: the out dir may not exist yet, but if it does it must be a directory. */
export function checkOutDir(dir: string): void {
  try {
    const stat = lstatSync(dir);
    if (stat.isDirectory()) return;
    if (stat.isSymbolicLink()) {
      // The out dir itself is the user's choice; a link to a directory is fine.
      try {
        if (statSync(dir).isDirectory()) return;
      } catch {
        /* dangling */
      }
    }
    throw new UsageError(`--out-dir ${JSON.stringify(dir)} exists and is not a directory`);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new UsageError(`--out-dir ${JSON.stringify(dir)}: ${(error as Error).message}`);
  }
}

/**
 * Writes collected files below `dir`. The names come from the guest; they were
 * normalised by the library, and are checked again here. Inside the out dir no
 * existing symlink is ever followed: a directory component or a target that is a
 * symlink (or anything but a directory / regular file) refuses that file. Each file
 * is written to a fresh temporary name (O_EXCL | O_NOFOLLOW) and renamed into place,
 * so an existing hard link is replaced, never written through.
 */
export function writeOutDir(dir: string, files: Record<string, Uint8Array>): OutDirReport {
  const report: OutDirReport = { written: [], refused: [] };
  const root = resolve(dir);
  mkdirSync(root, { recursive: true });
  for (const [name, data] of Object.entries(files)) {
    try {
      writeOne(root, name, data);
      report.written.push(name);
    } catch (error) {
      report.refused.push(`${JSON.stringify(name)}: ${(error as Error).message}`);
    }
  }
  return report;
}

function writeOne(root: string, name: string, data: Uint8Array): void {
  const normal = normaliseWorkspacePath(name);
  if (normal === null || normal !== name) throw new Error('not a safe relative path');
  const target = join(root, ...name.split('/'));
  const rel = relative(root, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..')) {
    throw new Error('resolves outside the out dir');
  }

  // Directory components: create or accept real directories, refuse anything else.
  const parts = name.split('/');
  let current = root;
  for (const part of parts.slice(0, -1)) {
    current = join(current, part);
    const kind = entryKind(current);
    if (kind === 'missing') {
      try {
        mkdirSync(current, { mode: 0o755 });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      if (entryKind(current) !== 'directory') throw new Error(`${relative(root, current)} is not a directory`);
    } else if (kind === 'symlink') {
      throw new Error(`refusing to follow the existing symlink ${relative(root, current)}`);
    } else if (kind !== 'directory') {
      throw new Error(`${relative(root, current)} exists and is not a directory`);
    }
  }

  const existing = entryKind(target);
  if (existing === 'symlink') throw new Error(`refusing to write through the existing symlink ${rel}`);
  if (existing !== 'missing' && existing !== 'file') throw new Error(`${rel} exists and is not a regular file`);

  const temp = join(current, `.pybox-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    let offset = 0;
    while (offset < data.length) offset += writeSync(fd, data, offset, data.length - offset);
  } catch (error) {
    closeSync(fd);
    unlinkSync(temp);
    throw error;
  }
  closeSync(fd);
  try {
    // rename(2) replaces the directory entry itself; it never follows a symlink at the target.
    renameSync(temp, target);
  } catch (error) {
    unlinkSync(temp);
    throw error;
  }
}

function entryKind(path: string): 'missing' | 'directory' | 'file' | 'symlink' | 'other' {
  try {
    const stat = lstatSync(path);
    if (stat.isSymbolicLink()) return 'symlink';
    if (stat.isDirectory()) return 'directory';
    if (stat.isFile()) return 'file';
    return 'other';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw error;
  }
}
