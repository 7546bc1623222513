/**
 * Decision 0026: the member's broadcast between processes that share only its PostgreSQL database (as
 * on two machines), over a real throw-away PostgreSQL. Each "process" here is its own broadcast with
 * its own connections and its own consent decision cache.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestPostgres, type TestPostgres } from '../../../test/support/test-postgres.js';
import type { ConsentDecision, ConsentQuery } from '../../access/consent-check.js';
import { ConsentDecisionCache } from '../../access/consent-decision-cache.js';
import { invalidateOnMemberEvents } from './consent-cache-invalidation.js';
import { type MemberNotifications, openMemberNotifications } from './member-notifications.js';
import type { NodeBroadcast, NodeEvent } from './node-broadcast.js';
import { type PostgresNodeBroadcast, startPostgresNodeBroadcast } from './postgres-node-broadcast.js';

let postgres: TestPostgres;
let url: string;
const opened: MemberNotifications[] = [];

beforeAll(async () => {
  postgres = await startTestPostgres();
  url = postgres.url;
}, 60_000);

afterAll(async () => {
  await Promise.all(opened.map((n) => n.close()));
  await postgres?.close();
});

/** A broadcast that has started listening (its first `chain-rollback` is the sign). */
async function open(): Promise<PostgresNodeBroadcast> {
  let listening: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    listening = resolve;
  });
  const notifications = openMemberNotifications(url);
  opened.push(notifications);
  const broadcast = startPostgresNodeBroadcast({ notifications });
  const stop = broadcast.subscribe((event) => {
    if (event.topic === 'chain-rollback') listening();
  });
  await ready;
  stop();
  return broadcast;
}

/** The next event `broadcast` delivers that `matches`. */
function next(broadcast: NodeBroadcast, matches: (event: NodeEvent) => boolean): Promise<NodeEvent> {
  return new Promise((resolve) => {
    const stop = broadcast.subscribe((event) => {
      if (!matches(event)) return;
      stop();
      resolve(event);
    });
  });
}

const PATIENT = '0x00000000000000000000000000000000000000aa';
const GRANTEE = '0x00000000000000000000000000000000000000bb';

describe('the member broadcast through PostgreSQL', () => {
  test('an event reaches the other process; the publisher’s own listeners have it at once, once', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const atA: NodeEvent[] = [];
    a.subscribe((event) => atA.push(event));
    const heard = next(b, (e) => e.topic === 'consent-changed');
    a.publish({ topic: 'consent-changed', patient: PATIENT });
    expect(atA).toEqual([{ topic: 'consent-changed', patient: PATIENT }]);
    expect(await heard).toEqual({ topic: 'consent-changed', patient: PATIENT });
    // A later event from b reaches a: nothing of a's own came back to it meanwhile.
    const back = next(a, (e) => e.topic === 'token-revoked');
    b.publish({ topic: 'token-revoked', tokenId: 't1' });
    await back;
    expect(atA.filter((e) => e.topic === 'consent-changed')).toHaveLength(1);
  });

  test('indexed chain events cross as contract, name and patient only; a batch too big for one notification as chain-rollback', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    const small = next(b, (e) => e.topic === 'chain-indexed');
    a.publish({
      topic: 'chain-indexed',
      events: [
        {
          contract: 'consent',
          name: 'ConsentGranted',
          blockNumber: 7,
          args: { patient: PATIENT, grantee: GRANTEE, termsHash: '0x12' },
        },
      ],
    });
    expect(await small).toEqual({
      topic: 'chain-indexed',
      events: [{ contract: 'consent', name: 'ConsentGranted', args: { patient: PATIENT } }],
    });
    const big = next(b, (e) => e.topic === 'chain-indexed' || e.topic === 'chain-rollback');
    a.publish({
      topic: 'chain-indexed',
      events: Array.from({ length: 200 }, () => ({
        contract: 'consent',
        name: 'ConsentGranted',
        args: { patient: PATIENT },
      })),
    });
    expect(await big).toEqual({ topic: 'chain-rollback' });
  });

  test('a decision remembered in one process is dropped when another indexes a grant for that patient', async () => {
    const [a, b] = await Promise.all([open(), open()]);
    // The shared chain index, as both processes read it.
    let granted = false;
    const evaluate = async (_query: ConsentQuery): Promise<ConsentDecision> =>
      granted
        ? { allowed: true, grantId: `0x${'11'.repeat(32)}`, via: 'grantee' }
        : { allowed: false, reason: 'no-grant' };
    const cacheA = new ConsentDecisionCache(evaluate);
    invalidateOnMemberEvents(a, cacheA);
    const query: ConsentQuery = { patient: PATIENT, grantee: GRANTEE, category: 1n, purpose: 1n, at: 1_000 };
    expect((await cacheA.check(query)).allowed).toBe(false);
    // Process b's indexer applies the grant (before and after the write, as reportIndexedEvents does).
    const indexed = {
      topic: 'chain-indexed',
      events: [{ contract: 'consent', name: 'ConsentGranted', args: { patient: PATIENT } }],
    } as const;
    b.publish(indexed);
    granted = true;
    const heard = next(a, (e) => e.topic === 'chain-indexed');
    b.publish(indexed);
    await heard;
    // Asked again in the same second: a's remembered denial is gone.
    expect((await cacheA.check(query)).allowed).toBe(true);
  });
});
