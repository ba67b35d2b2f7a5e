import { UsageError } from './usage-error.js';

/** A commander parser for a whole number in [min, max]; anything else is one usage line. */
export function countOption(flag: string, min: number, max: number): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new UsageError(`${flag} expects a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

/** Resolves at the first SIGTERM or SIGINT (a second one is left to the default: exit at once). */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      resolve(signal);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}
