import { constants as osConstants } from 'node:os';
import type { JailExit } from '../jail/live-jail.js';

// The zygote's line protocol. The host writes commands on its ctrl-in: `S id workspace tmp
// slot` (fork a child), `C id` (close the zygote's copies of the child's pipes). The zygote
// writes events on its ctrl-out: `hello` (up), `P id pid fd...` (forked), `E id message`
// (could not fork), `X id status` (a child's pid 1 exited). The zygote runs no user code,
// but its jail is not trusted with the host's process either: lines are bounded.

/** Longer than any event the zygote writes ("P id pid fd fd fd fd fd fd fd"). */
const MAX_EVENT_LINE_CHARS = 4096;

export type ZygoteEvent =
  | { kind: 'hello' }
  | { kind: 'forked'; id: string; pid: number; fds: number[] }
  | { kind: 'fork-failed'; id: string; message: string }
  | { kind: 'exited'; id: string; exit: JailExit };

/** Splits the zygote's output into events. Throws on a line too long. */
export class EventLines {
  private buffer = '';

  push(chunk: Buffer): ZygoteEvent[] {
    this.buffer += chunk.toString('utf8');
    if (this.buffer.length > MAX_EVENT_LINE_CHARS) throw new Error('the zygote wrote an event line too long');
    const events: ZygoteEvent[] = [];
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const event = parseEvent(this.buffer.slice(0, nl));
      this.buffer = this.buffer.slice(nl + 1);
      if (event) events.push(event);
    }
    return events;
  }
}

/** One event line, or null for a line that is none. */
export function parseEvent(line: string): ZygoteEvent | null {
  if (line.startsWith('hello ')) return { kind: 'hello' };
  const [kind, id, ...rest] = line.split(' ');
  if (id === undefined) return null;
  if (kind === 'P') {
    const [pid, ...fds] = rest.map(Number);
    return { kind: 'forked', id, pid: pid as number, fds };
  }
  if (kind === 'E') return { kind: 'fork-failed', id, message: rest.join(' ') };
  if (kind === 'X') return { kind: 'exited', id, exit: decodeWaitStatus(Number(rest[0])) };
  return null;
}

/** Forks a child with tmpfs sizes in bytes, into cgroup slot `slot` (-1: none, the host moves it). */
export const forkCommand = (id: string, workspaceBytes: number, tmpBytes: number, slot: number): string => `S ${id} ${workspaceBytes} ${tmpBytes} ${slot}`;
/** The host has opened the child's pipes: the zygote closes its copies. */
export const closeCommand = (id: string): string => `C ${id}`;

/** A wait status as the zygote's waitpid saw it. */
export function decodeWaitStatus(status: number): JailExit {
  const sig = status & 0x7f;
  if (sig === 0) return { code: (status >> 8) & 0xff, signal: null, error: null };
  const name = Object.entries(osConstants.signals).find(([, n]) => n === sig)?.[0] as NodeJS.Signals | undefined;
  return { code: null, signal: name ?? 'SIGKILL', error: null };
}
