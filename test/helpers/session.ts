import type { Session } from '../../src/index.js';

/** Starts a cell and resolves `printed` once its stdout holds `text`: the cell is then live, at that line. */
export function cellUntilPrinted(session: Session, code: string, text: string, options: Parameters<Session['run']>[1] = {}) {
  let out = '';
  let seen: () => void = () => undefined;
  const printed = new Promise<void>((resolve) => (seen = resolve));
  const result = session.run(code, { ...options, onStdout: (c) => ((out += c), out.includes(text) && seen()) });
  return { result, printed };
}
