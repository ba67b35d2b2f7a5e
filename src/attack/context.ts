/**
 * The per-run context block put on top of every attack: a fresh nonce and token,
 * and where "the host" keeps the things the attack is after. Only names the attack
 * needs; never a secret's value.
 */
import type { HostShape } from './host.js';
import { SECRET_ENV } from './host.js';

export interface RunContext {
  nonce: string;
  /** Written (or sent, or printed on a verified breach) only when the attack reached what the target denies. */
  token: string;
  /** A path this target forbids writing. */
  out: string;
  host: HostShape;
}

const py = (value: string): string => JSON.stringify(value); // a JSON string is a valid Python str literal

export function contextBlock(ctx: RunContext): string {
  const { host } = ctx;
  return [
    '# ---- lab context (generated for this run) ----',
    `NONCE = ${py(ctx.nonce)}`,
    `TOKEN = ${py(ctx.token)}`,
    `OUT = ${py(ctx.out)}`,
    `HOST_DIR = ${py(host.dir)}`,
    `SECRET_PATH = ${py(host.secretFile)}`,
    `CANARY_PATH = ${py(host.canaryFile)}`,
    `SECRET_ENV = ${py(SECRET_ENV)}`,
    `TCP = (${py(host.tcp[0])}, ${host.tcp[1]})`,
    `UDP = (${py(host.udp[0])}, ${host.udp[1]})`,
    `UNIX = ${py(host.unix)}`,
    `ABSTRACT = ${py(host.abstract)}`,
    '# ---- end of lab context ----',
    '',
  ].join('\n');
}

/** The attack as it runs: context block, then the attack's code. */
export function attackProgram(ctx: RunContext, code: string): string {
  return contextBlock(ctx) + code;
}
