/**
 * The whole attack corpus run as cells of one session per path: after each attack either
 * the next cell works, or the session ended for a reason the host decided (a limit, the
 * program ending its own interpreter) and a new session carries on. No attack's token
 * reaches the output, and nothing of any session is left on the host at the end.
 */
import { describe, expect, it } from 'vitest';
import type { Session, SessionEndReason } from '../src/index.js';
import { loadCorpus } from '../src/attack/corpus.js';
import { attackProgram } from '../src/attack/context.js';
import { randomId, virtualHost } from '../src/attack/host.js';
import { expectNoRunLeftovers } from './helpers/leftovers.js';
import { PATHS, sandboxesForBlock } from './helpers/sandboxes.js';
import { scaled } from './helpers/time-scale.js';

const CORPUS = loadCorpus();
const LIMITS = { timeoutMs: scaled(4000), cpuMs: scaled(3000), memoryMiB: 128 };
/** Ends only the caller or the clock decides: an attack never causes them. */
const NOT_AN_ATTACK_END: readonly SessionEndReason[] = ['closed', 'idle', 'lifetime'];

describe.each(PATHS)('the attack corpus as cells of one session, path %s', (path) => {
  const { sandbox } = sandboxesForBlock({ sandbox: { mode: path, limits: LIMITS, maxSessions: 2 } });

  it(
    'after each attack the next cell works, or the session ended with a limit or its own exit',
    async () => {
      let session: Session = await sandbox.openSession();
      let sessions = 1;
      const ends: string[] = [];
      for (const attack of CORPUS) {
        const nonce = randomId(8);
        const token = `PWNED-${randomId(8)}`;
        const program = attackProgram({ nonce, token, out: '/workspace/out', host: virtualHost(nonce) }, attack.code);
        const r = await session.run(program);
        expect(r.stdout, attack.id).not.toContain(token);
        let check = session.alive ? await session.run('6 * 7').catch(() => null) : null;
        if (check && check.status === 'ok') {
          if (check.value?.text === '42') continue;
          // The attack changed its own interpreter (ctypes on its small ints): it hurts only
          // itself; the next attacks get a clean session.
          await session.close();
          ends.push(`${attack.id}: changed its own interpreter`);
          session = await sandbox.openSession();
          sessions++;
          continue;
        }
        // The session ended, during the attack or right after (something it left running).
        const reason = await session.ended;
        expect(NOT_AN_ATTACK_END, `${attack.id}: the session ended (${reason}), cell ${r.status}`).not.toContain(reason);
        if (attack.detect.includes('limit') && reason === r.status) {
          expect([...attack.expect, 'process_limit', 'timeout', 'cpu_limit'], attack.id).toContain(r.status);
        }
        ends.push(`${attack.id}: ${reason}`);
        session = await sandbox.openSession();
        sessions++;
        check = await session.run('6 * 7');
        expect(check.value?.text, attack.id).toBe('42');
      }
      await session.close();
      // Most attacks are refused and the session lives on; the corpus is worth a few sessions, not one each.
      expect(sessions, ends.join('\n')).toBeLessThan(CORPUS.length / 4);
      expect(await expectNoRunLeftovers()).toEqual([]);
    },
    scaled(900_000),
  );
});
