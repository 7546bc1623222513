/**
 * The per-patient claim lease (decision 0019) on both stores a payer's processes share: two
 * connections, as two processes, contend for one patient; only one holds it until it gives it back
 * or lets it expire; a submission that cannot have it in time is refused with 503 and Retry-After.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClaimLeaseStore, createPatientClaimLease } from '../../src/claims/index.js';
import { CareLedgerError } from '../../src/errors/index.js';
import { HTTP_STATUS } from '../../src/http/error-response.js';
import { PostgresClaimLeaseStore } from '../../src/storage/postgres/postgres-claim-lease-store.js';
import { openPostgresDatabase, type PostgresDatabase } from '../../src/storage/postgres/postgres-database.js';
import { migratePostgres } from '../../src/storage/postgres/postgres-migrations.js';
import { POSTGRES_MIGRATIONS } from '../../src/storage/postgres/postgres-schema.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import {
  claimLeaseMigrations,
  SqliteClaimLeaseStore,
} from '../../src/storage/sqlite/sqlite-claim-lease-store.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

const PATIENT = '0x00000000000000000000000000000000000000aa';
let dir: string;
let postgres: TestPostgres;
const pgHandles: PostgresDatabase[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-claim-lease-'));
  postgres = await startTestPostgres();
}, 120_000);

afterAll(async () => {
  for (const db of pgHandles) await db.close();
  await postgres?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function sqlitePair(): Promise<[ClaimLeaseStore, ClaimLeaseStore]> {
  const file = join(dir, 'node.db');
  return [
    new SqliteClaimLeaseStore(openDatabase(file, claimLeaseMigrations)),
    new SqliteClaimLeaseStore(openDatabase(file, claimLeaseMigrations)),
  ];
}

async function postgresPair(): Promise<[ClaimLeaseStore, ClaimLeaseStore]> {
  const a = openPostgresDatabase(postgres.url);
  const b = openPostgresDatabase(postgres.url);
  pgHandles.push(a, b);
  await migratePostgres(a, POSTGRES_MIGRATIONS);
  return [new PostgresClaimLeaseStore(a), new PostgresClaimLeaseStore(b)];
}

describe.each([
  ['SQLite', sqlitePair],
  ['PostgreSQL', postgresPair],
])('claim patient leases on %s', (_name, open) => {
  it('lets one process hold a patient at a time, and the other once it is given back', async () => {
    const [one, two] = await open();
    const results = await Promise.all([
      one.tryClaim(PATIENT, 'p1', 60_000, 1_000),
      two.tryClaim(PATIENT, 'p2', 60_000, 1_000),
    ]);
    expect(results.filter(Boolean)).toHaveLength(1);
    const [winner, loser] = results[0] ? [one, two] : [two, one];
    const [winnerName, loserName] = results[0] ? ['p1', 'p2'] : ['p2', 'p1'];
    expect(await loser.tryClaim(PATIENT, loserName, 60_000, 2_000)).toBe(false);
    await loser.release(PATIENT, loserName); // not its lease: nothing happens
    expect(await loser.tryClaim(PATIENT, loserName, 60_000, 2_000)).toBe(false);
    await winner.release(PATIENT, winnerName);
    expect(await loser.tryClaim(PATIENT, loserName, 60_000, 3_000)).toBe(true);
    expect(
      await winner.tryClaim('0x00000000000000000000000000000000000000bb', winnerName, 60_000, 3_000),
    ).toBe(true);
    await loser.release(PATIENT, loserName);
  });

  it('refuses with 503 and Retry-After when the patient stays busy past the wait', async () => {
    const [one, two] = await open();
    expect(await one.tryClaim(PATIENT, 'holder', 60_000, Date.now())).toBe(true);
    let clock = Date.now();
    const withLease = createPatientClaimLease({
      store: two,
      holder: 'waiting',
      waitMs: 5_000,
      now: () => clock,
      sleep: async () => {
        clock += 1_000;
      },
    });
    let ran = false;
    const refused = await withLease(PATIENT, async () => {
      ran = true;
    }).catch((e: unknown) => e);
    expect(ran).toBe(false);
    expect(refused).toBeInstanceOf(CareLedgerError);
    const error = refused as CareLedgerError;
    expect(HTTP_STATUS[error.code]).toBe(503);
    expect(error.details).toMatchObject({ reason: 'claim-patient-busy', retryAfter: 2 });
    await one.release(PATIENT, 'holder');
    expect(await withLease(PATIENT, async () => 'decided')).toBe('decided');
  });

  it('renews a held lease, and a holder that outlived its lease is stopped before its next write', async () => {
    const [one, two] = await open();
    const patient = '0x00000000000000000000000000000000000000dd';
    expect(await one.tryClaim(patient, 'slow', 60_000, 1_000)).toBe(true);
    expect(await one.renew(patient, 'slow', 60_000, 2_000)).toBe(true);
    expect(await two.renew(patient, 'other', 60_000, 2_000)).toBe(false);
    await one.release(patient, 'slow');
    expect(await one.renew(patient, 'slow', 60_000, 3_000)).toBe(false);

    // A submission whose lease (1 ms long) has expired and been taken by another process.
    const stalled = createPatientClaimLease({ store: one, holder: 'stalled', leaseMs: 1 });
    const writes: string[] = [];
    const outcome = await stalled(patient, async (lease) => {
      await lease.confirm(); // still ours: nobody took it
      writes.push('anchor');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await two.tryClaim(patient, 'next', 60_000, Date.now())).toBe(true);
      await lease.confirm();
      writes.push('stored');
    }).catch((e: unknown) => e);
    expect(writes).toEqual(['anchor']);
    expect(outcome).toBeInstanceOf(CareLedgerError);
    expect(HTTP_STATUS[(outcome as CareLedgerError).code]).toBe(503);
    expect((outcome as CareLedgerError).details).toMatchObject({ reason: 'claim-lease-lost' });
    // The stalled submission's release left the new holder's lease alone.
    expect(await one.tryClaim(patient, 'third', 60_000, Date.now())).toBe(false);
    await two.release(patient, 'next');
  });
});

describe('an expired claim lease', () => {
  it('is taken over by another process (its holder died before giving it back)', async () => {
    const [one, two] = await sqlitePair();
    expect(await one.tryClaim('0x00000000000000000000000000000000000000cc', 'dead', 1_000, 10_000)).toBe(
      true,
    );
    expect(await two.tryClaim('0x00000000000000000000000000000000000000cc', 'alive', 1_000, 10_500)).toBe(
      false,
    );
    expect(await two.tryClaim('0x00000000000000000000000000000000000000cc', 'alive', 1_000, 11_000)).toBe(
      true,
    );
  });
});
