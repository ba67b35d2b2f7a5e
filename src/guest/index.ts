import { readFileSync } from 'node:fs';

/** The guest bootstrap's source, passed to `python3 -c` inside the jail. */
export const BOOTSTRAP_SOURCE: string = readFileSync(new URL('./bootstrap.py', import.meta.url), 'utf8');

export * from './protocol.js';
