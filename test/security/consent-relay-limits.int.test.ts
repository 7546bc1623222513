/**
 * Security review F9: anonymous consent relays (`POST /ledger/consent/grants`, `/revocations`,
 * `/openings`) were unbounded: each grant from a fresh key made the node send a chain transaction,
 * append a permanent log entry and post to other members. They are now counted per source address and
 * node-wide before anything is stored, sent or logged; past a bound, 429 with Retry-After.
 * A member node in-process over a real anvil chain; the source address is the TCP peer the node reads
 * (`c.env.incoming.socket`), given here as a server would; the clock is fixed, so no window rolls over.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../src/errors/index.js';
import { ConsentRelayLimits, DEFAULT_CONSENT_RELAY_LIMITS } from '../../src/ledger/index.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/open-database.js';
import { authMigrations, SqliteAuthStore } from '../../src/storage/sqlite/sqlite-auth-store.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const NOW = Date.UTC(2026, 11, 7, 23, 0, 10);
let solo: SoloNode;

function from(address: string) {
  return { incoming: { socket: { remoteAddress: address } } };
}

async function relayGrant(address: string) {
  const grant = await signGrantForNewPatient({
    chainId: 31337,
    consentRegistry: solo.node.deployment.contracts.consentRegistry,
    grantee: '0x3333333333333333333333333333333333333333',
    nowSeconds: Math.floor(Date.now() / 1000),
  });
  return solo.node.app.request(
    '/ledger/consent/grants',
    { method: 'POST', headers: { 'content-type': 'application/json' }, body: grant.body },
    from(address),
  );
}

beforeAll(async () => {
  solo = await startSoloNode({}, { authClock: () => NOW });
});

afterAll(async () => {
  await solo?.stop();
});

describe('anonymous consent relays are bounded (F9)', () => {
  it('answers 429 with Retry-After past the per-address bound, and sends and logs nothing for it', async () => {
    const bound = DEFAULT_CONSENT_RELAY_LIMITS.chain.perSource.requests;
    let last: { logIndex: number } | undefined;
    for (let i = 0; i < bound; i++) {
      const accepted = await relayGrant('203.0.113.7');
      expect(accepted.status, await accepted.clone().text()).toBe(202);
      last = (await accepted.json()) as { logIndex: number };
    }
    const refused = await relayGrant('203.0.113.7');
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('50');
    expect(((await refused.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    // Revocations and openings from that address are refused as well, before their bodies are read.
    for (const path of ['/ledger/consent/revocations']) {
      const more = await solo.node.app.request(path, { method: 'POST', body: '{}' }, from('203.0.113.7'));
      expect(more.status).toBe(429);
    }

    // Another address is served, and its relay is the log's next entry: the refused one wrote none.
    const other = await relayGrant('198.51.100.4');
    expect(other.status).toBe(202);
    expect(((await other.json()) as { logIndex: number }).logIndex).toBe((last?.logIndex ?? -1) + 1);
  });
});

describe('ConsentRelayLimits', () => {
  let dir: string;
  let db: SqliteDatabase;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'relay-limits-'));
    db = openDatabase(join(dir, 'auth.db'), authMigrations);
  });
  afterAll(() => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('bounds the node as a whole across addresses, and starts again in the next window', async () => {
    let now = NOW;
    const limits = new ConsentRelayLimits({
      store: new SqliteAuthStore(db),
      now: () => now,
      policy: {
        chain: { perSource: { requests: 2, windowSeconds: 60 }, global: { requests: 3, windowSeconds: 60 } },
        opening: {
          perSource: { requests: 2, windowSeconds: 60 },
          global: { requests: 3, windowSeconds: 60 },
        },
      },
    });
    await limits.count('chain', '192.0.2.1');
    await limits.count('chain', '192.0.2.2');
    await limits.count('chain', undefined);
    const refused = await limits.count('chain', '192.0.2.3').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CareLedgerError);
    expect((refused as CareLedgerError).code).toBe('ERR_RATE_LIMITED');
    expect((refused as CareLedgerError).details.retryAfter).toBe(50);
    // Openings are counted apart from chain writes.
    await limits.count('opening', '192.0.2.3');
    now += 60_000;
    await limits.count('chain', '192.0.2.3');
  });
});
