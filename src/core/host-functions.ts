import { z } from 'zod';
import type { HostCallHandler } from './hooks.js';

/**
 * Host functions: the one door out of the jail a caller may open. A program calls each
 * by name (`add(2, 3)` in `__main__`, or `pybox.host.add(2, 3)`); the call blocks the
 * Python thread until the function's answer comes back. Arguments and results are JSON
 * values only.
 */

/** A JSON value as it crosses the door: what a host function gets, and may return. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A function the program may call: JSON arguments in, a JSON value (or its promise) out. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type HostFunction = (...args: any[]) => unknown;

export type HostFunctions = Record<string, HostFunction>;

/** Functions one run or session may register. */
export const MAX_HOST_FUNCTIONS = 256;
/** Nesting of lists and dicts in an argument list or a result (both sides check it). */
export const MAX_JSON_DEPTH = 100;

const NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** Python's keywords and soft keywords: not callable by name. */
const KEYWORDS = new Set(
  'False None True and as assert async await break class continue def del elif else except finally for from global if import in is lambda nonlocal not or pass raise return try while with yield match case type'.split(' '),
);

/**
 * Names a host function cannot take: Python's builtins (a program's `print` or `len` must
 * stay what it reads as), and pybox's own names in a program.
 */
const RESERVED = new Set(
  (
    'abs aiter all anext any ascii bin bool breakpoint bytearray bytes callable chr classmethod compile complex copyright credits ' +
    'delattr dict dir divmod enumerate eval exec exit filter float format frozenset getattr globals hasattr hash help hex id input ' +
    'int isinstance issubclass iter len license list locals map max memoryview min next object oct open ord pow print property quit ' +
    'range repr reversed round set setattr slice sorted staticmethod str sum super tuple vars zip Ellipsis NotImplemented ' +
    'pybox host display HostError'
  ).split(' '),
);

/** Why `name` cannot be a host function's name, or null when it can. */
export function hostFunctionNameProblem(name: string): string | null {
  if (!NAME.test(name)) return 'must be a Python identifier of ASCII letters, digits and _ (at most 64), starting with a letter';
  if (KEYWORDS.has(name)) return 'is a Python keyword';
  if (RESERVED.has(name)) return "is a Python builtin or one of pybox's own names";
  return null;
}

export const hostFunctionsSchema = z
  .custom<HostFunctions>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be an object of functions')
  .superRefine((table, ctx) => {
    const names = Object.keys(table);
    if (names.length > MAX_HOST_FUNCTIONS) ctx.addIssue({ code: 'custom', message: `at most ${MAX_HOST_FUNCTIONS} functions` });
    for (const name of names) {
      const problem = hostFunctionNameProblem(name);
      if (problem) ctx.addIssue({ code: 'custom', path: [name], message: `${JSON.stringify(name)} ${problem}` });
      else if (typeof table[name] !== 'function') ctx.addIssue({ code: 'custom', path: [name], message: 'must be a function' });
    }
  });

/** The hook a backend calls for each call the guest makes, over a validated table. */
export function hostCallHandler(table: HostFunctions): HostCallHandler {
  const functions = new Map(Object.entries(table));
  return async (name, args) => {
    const fn = functions.get(name);
    if (!fn) throw new Error(`no host function ${name}`);
    return fn(...args);
  };
}

/** What a host function answered, as the guest gets it: its JSON, or why it is not JSON. */
export type EncodedResult = { ok: true; json: string } | { ok: false; error: string };

/**
 * A function's return value as JSON text for the guest: undefined is None; numbers must be
 * finite; objects must be plain (arrays, or objects whose prototype is Object's or null).
 * A Map, a Date, a BigInt or a cycle is refused rather than silently changed.
 */
export function encodeHostResult(value: unknown): EncodedResult {
  const problem = jsonProblem(value === undefined ? null : value, 0, new Set());
  if (problem) return { ok: false, error: `the host function's result is not JSON: ${problem}` };
  return { ok: true, json: JSON.stringify(value ?? null) };
}

function jsonProblem(v: unknown, depth: number, seen: Set<object>): string | null {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : `${v} is not a finite number`;
  if (typeof v !== 'object') return `a ${typeof v}`;
  if (depth >= MAX_JSON_DEPTH) return `nested deeper than ${MAX_JSON_DEPTH}`;
  if (seen.has(v)) return 'a cycle';
  const proto = Object.getPrototypeOf(v) as unknown;
  if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return `a ${(v as object).constructor?.name ?? 'non-plain object'}`;
  seen.add(v);
  for (const item of Array.isArray(v) ? v : Object.values(v)) {
    const problem = jsonProblem(item, depth + 1, seen);
    if (problem) return problem;
  }
  seen.delete(v);
  return null;
}
