/**
 * The files of one MCP connection (mcp-run-python's file-persistence mode): uploaded
 * files and whatever a run leaves in /workspace are kept on the host, given to the next
 * run as its input files and collected after it. Names pass the same check as a run's
 * `files` and `collect` paths; the total is held to the workspace's size.
 */
import { normaliseWorkspacePath } from '../core/workspace-path.js';

export class WorkspaceError extends Error {
  override readonly name = 'WorkspaceError';
}

const MAX_FILES = 1000;

export class Workspace {
  private readonly files = new Map<string, Uint8Array>();

  constructor(private readonly maxBytes: number) {}

  /** The canonical workspace path of a name, or a WorkspaceError saying why not. */
  static path(name: string): string {
    const path = normaliseWorkspacePath(name.startsWith('file:///') ? decodeURIComponentSafe(name.slice('file:///'.length)) : name);
    if (path === null) throw new WorkspaceError(`file name not allowed: ${JSON.stringify(name.slice(0, 300))}`);
    return path;
  }

  static uri(path: string): string {
    return 'file:///' + path.split('/').map(encodeURIComponent).join('/');
  }

  list(): string[] {
    return [...this.files.keys()].sort();
  }

  get(path: string): Uint8Array | undefined {
    return this.files.get(path);
  }

  put(name: string, data: Uint8Array): string {
    const path = Workspace.path(name);
    for (const other of this.files.keys()) {
      if (other !== path && (other.startsWith(path + '/') || path.startsWith(other + '/'))) {
        throw new WorkspaceError(`${path} collides with the workspace's ${other} (a file and a directory of one name)`);
      }
    }
    if (!this.files.has(path) && this.files.size >= MAX_FILES) throw new WorkspaceError(`the workspace holds at most ${MAX_FILES} files`);
    const total = this.bytes() - (this.files.get(path)?.byteLength ?? 0) + data.byteLength;
    if (total > this.maxBytes) throw new WorkspaceError(`the workspace would hold ${total} bytes; its size is ${this.maxBytes}`);
    this.files.set(path, data);
    return path;
  }

  delete(name: string): boolean {
    return this.files.delete(Workspace.path(name));
  }

  /** A run's input: the files as they are now (the snapshot `settle` compares against). */
  snapshot(): Map<string, Uint8Array> {
    return new Map(this.files);
  }

  /**
   * Applies what a finished run did relative to its snapshot: files it wrote are kept,
   * files it removed are dropped, and a file another call changed meanwhile is left alone.
   */
  settle(before: Map<string, Uint8Array>, after: Record<string, Uint8Array>): void {
    for (const [path, data] of before) {
      if (!(path in after) && this.files.get(path) === data) this.files.delete(path);
    }
    for (const [path, data] of Object.entries(after)) {
      const prior = before.get(path);
      if (prior !== undefined && sameBytes(prior, data)) continue;
      this.files.set(path, data);
    }
  }

  private bytes(): number {
    let n = 0;
    for (const d of this.files.values()) n += d.byteLength;
    return n;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return '\0'; // not a name the path check accepts
  }
}
