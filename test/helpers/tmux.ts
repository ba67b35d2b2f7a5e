/**
 * A program in a real terminal: tmux gives it a pty of a fixed size, keys are typed into
 * it, and the screen is read back. Waits are for a screen state (polled against a
 * deadline), never for a fixed time.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { scaled } from './time-scale.js';

let count = 0;

export class Terminal {
  private constructor(
    /** A tmux server of its own: nothing of the user's tmux is touched. */
    private readonly socket: string,
  ) {}

  /** Starts `argv` in a new terminal of `width` x `height` in `cwd`; the pane stays once it exits, with its status. */
  static start(argv: string[], { cwd, width = 120, height = 50 }: { cwd: string; width?: number; height?: number }): Terminal {
    const term = new Terminal(`pybox-test-${process.pid}-${count++}`);
    // One tmux command line, so the pane is kept even if the program exits at once.
    term.tmux('start-server', ';', 'set-option', '-g', 'remain-on-exit', 'on', ';', 'new-session', '-d', '-s', 'repl', '-x', String(width), '-y', String(height), '-c', cwd, ...argv);
    return term;
  }

  /** Types `text` literally (no key names), then Enter unless `enter` is false. */
  type(text: string, { enter = true } = {}): void {
    if (text !== '') this.tmux('send-keys', '-t', 'repl', '-l', text);
    if (enter) this.keys('Enter');
  }

  /** Sends keys by tmux name: 'Enter', 'C-c', 'C-d'. */
  keys(...names: string[]): void {
    this.tmux('send-keys', '-t', 'repl', ...names);
  }

  /** The whole screen and its scrollback, wrapped lines joined, trailing blank lines dropped. */
  screen(): string {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'repl').replace(/\s+$/, '');
  }

  /** Resolves with the screen once `predicate` holds for it; throws with the screen after `timeoutMs`. */
  async waitFor(predicate: (screen: string) => boolean, what: string, timeoutMs = scaled(20_000)): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (predicate(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`the terminal did not show ${what} within ${timeoutMs} ms; it shows:\n${screen}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Resolves once the screen ends with `text` (a prompt waiting for input). */
  waitForEnd(text: string, timeoutMs?: number): Promise<string> {
    return this.waitFor((s) => s.endsWith(text.trimEnd()), JSON.stringify(text) + ' at its end', timeoutMs);
  }

  /** The program's exit status once it has exited. */
  async exitStatus(timeoutMs = scaled(20_000)): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const [dead, status, signal, panePid, serverPid] = this.tmux('display-message', '-p', '-t', 'repl', '#{pane_dead}:#{pane_dead_status}:#{pane_dead_signal}:#{pane_pid}:#{pid}').trim().split(':');
      // The status can show a moment after the pane is marked dead.
      if (dead === '1' && status !== '') return Number(status);
      if (dead === '1' && signal !== '') throw new Error(`the program was killed by signal ${signal}; the terminal shows:\n${this.screen()}`);
      // tmux can miss the SIGCHLD of its pane's program (tmux/tmux#311, #2679): the program
      // stays a zombie tmux never reaps, so its status never shows. Seen on a loaded host;
      // the workaround tmux's author gives is another SIGCHLD.
      if (isZombie(Number(panePid))) process.kill(Number(serverPid), 'SIGCHLD');
      if (Date.now() > deadline) throw new Error(`the program did not exit within ${timeoutMs} ms; the terminal shows:\n${this.screen()}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Ends the terminal and its program (SIGHUP, as a closed terminal window would), and removes its socket. */
  close(): void {
    try {
      const socket = this.tmux('display-message', '-p', '#{socket_path}').trim();
      this.tmux('kill-server');
      rmSync(socket, { force: true });
    } catch {
      /* already gone */
    }
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

/** Whether `pid` has exited and waits for its parent to reap it. */
function isZombie(pid: number): boolean {
  try {
    // The state follows the command name, which is in parentheses and may hold spaces.
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').at(-1)?.startsWith('Z') ?? false;
  } catch {
    return false;
  }
}
