/**
 * Decision 0022: the log sequencer elected through PostgreSQL. Two "processes" (each its own pool,
 * lease holder, durable queue and sequencer) share one real, throw-away PostgreSQL database. Time is
 * not waited for: the lease is made to expire with SQL, and every step (election tick, integration
 * round) is called by the test.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startTestPostgres, type TestPostgres } from '../../../test/support/test-postgres.js';
import {
  createSignerKey,
  parseCheckpoint,
  parseVerifierKey,
  TransparencyLog,
  verifyNote,
} from '../../log/index.js';
import { applyVaultCommitGroupPostgres } from '../../storage/postgres/postgres-commit-applier.js';
import { openPostgresDatabase, type PostgresDatabase } from '../../storage/postgres/postgres-database.js';
import { PostgresLogStorage } from '../../storage/postgres/postgres-log-storage.js';
import { migratePostgres } from '../../storage/postgres/postgres-migrations.js';
import { withPendingSettlement } from '../../storage/postgres/postgres-pending-entries.js';
import { PostgresRecordStorage } from '../../storage/postgres/postgres-record-storage.js';
import { POSTGRES_MIGRATIONS } from '../../storage/postgres/postgres-schema.js';
import { PostgresSequencerLease } from '../../storage/postgres/postgres-sequencer-lease.js';
import type { VaultCommitWrite } from '../../vault/commit-writes.js';
import { DatabaseLogAppender } from './database-log-appender.js';
import { DatabaseSequencer } from './database-sequencer.js';

const KEY = createSignerKey('seq.example/log');
let server: TestPostgres;
let url: string;
const opened: PostgresDatabase[] = [];

interface Member {
  readonly db: PostgresDatabase;
  readonly appender: DatabaseLogAppender;
  readonly sequencer: DatabaseSequencer;
  /** The log each term opened, newest last. */
  readonly logs: TransparencyLog[];
  readonly lines: string[];
}

function member(holder: string): Member {
  const db = openPostgresDatabase(url, { maxConnections: 4 });
  opened.push(db);
  const lease = new PostgresSequencerLease(db, holder, 60_000);
  const logs: TransparencyLog[] = [];
  const lines: string[] = [];
  const sequencer = new DatabaseSequencer({
    lease,
    db,
    log: (line) => lines.push(line),
    currentVersion: async (resourceType, id) =>
      (await new PostgresRecordStorage(db).current(resourceType, id))?.versionId ?? 0,
    openTerm: async (epoch) => {
      const storage = new PostgresLogStorage(db, {
        applyCommitGroup: withPendingSettlement(applyVaultCommitGroupPostgres),
        fence: lease.fence(epoch),
      });
      const log = await TransparencyLog.open({ storage, signerKey: KEY.signerKey });
      logs.push(log);
      return { log, stop: () => log.stop() };
    },
  });
  return { db, appender: new DatabaseLogAppender({ db, pollMs: 60_000 }), sequencer, logs, lines };
}

const entry = (text: string) => new TextEncoder().encode(text);

/** Lets the leader integrate, then tells both writers to look (no notifications needed). */
async function settle(leader: Member, writers: readonly Member[]): Promise<void> {
  while ((await leader.sequencer.integrate()) > 0);
  for (const w of writers) w.appender.notifySettled();
}

beforeAll(async () => {
  server = await startTestPostgres();
  url = await server.createDatabase('sequencer');
  const db = openPostgresDatabase(url);
  await migratePostgres(db, POSTGRES_MIGRATIONS);
  await db.close();
}, 120_000);

afterAll(async () => {
  for (const db of opened) await db.close();
  await server?.close();
});

describe('a log sequencer elected through PostgreSQL', () => {
  const a = () => members[0] as Member;
  const b = () => members[1] as Member;
  let members: Member[] = [];

  test('one of two processes takes the lease; groups queued by both are logged once, in one batch', async () => {
    members = [member('host-a/1'), member('host-b/2')];
    await a().sequencer.tick();
    await b().sequencer.tick();
    expect(a().sequencer.role).toBe('leader');
    expect(a().sequencer.epoch).toBe(1);
    expect(b().sequencer.role).toBe('follower');

    const fromA = Array.from({ length: 5 }, (_, i) => a().appender.appendAll([entry(`a-${i}`)]));
    const fromB = Array.from({ length: 5 }, (_, i) =>
      b().appender.appendAll([entry(`b-${i}-0`), entry(`b-${i}-1`)]),
    );
    // Both queues are durable before the leader looks.
    while ((await a().db.query('SELECT id FROM log_pending')).length < 10) await new Promise(setImmediate);
    await settle(a(), members);
    const results = (await Promise.all([...fromA, ...fromB])).flat();
    const indices = results.map((r) => r.index).sort((x, y) => x - y);
    expect(indices).toEqual(Array.from({ length: 15 }, (_, i) => i));
    const log = a().logs[0] as TransparencyLog;
    expect(log.size).toBe(15);
    // Settled groups are forgotten once their writers read them.
    await new Promise(setImmediate);
    await a()
      .appender.stop()
      .then(() => undefined);
    members[0] = { ...a(), appender: new DatabaseLogAppender({ db: a().db, pollMs: 60_000 }) };
  });

  test('a version that does not follow the stored one is refused alone; the writer hears 412', async () => {
    const version = (versionId: number): VaultCommitWrite =>
      ({
        kind: 'version',
        index: [],
        entryOffset: 0,
        version: { resourceType: 'Observation', id: 'o-1', versionId },
      }) as unknown as VaultCommitWrite;
    const refused = b().appender.appendAll([entry('conflict')], { withinCommit: [version(2)] });
    const fine = b().appender.appendAll([entry('fine')]);
    while ((await a().db.query('SELECT id FROM log_pending WHERE first_index IS NULL')).length < 2)
      await new Promise(setImmediate);
    await settle(a(), members);
    await expect(refused).rejects.toMatchObject({ code: 'ERR_PRECONDITION_FAILED' });
    expect((await fine)[0]?.index).toBe(15);
  });

  test('a leader whose lease another took is fenced: its checkpoint and its write fail, and it steps down', async () => {
    const old = a().logs[0] as TransparencyLog;
    await old.checkpoint();
    // Written in its term, not yet checkpointed when it pauses.
    expect((await old.append(entry('late'))).index).toBe(16);
    // The leader pauses past its lease (made to expire here instead of waiting); the other takes over.
    await a().db.execute(
      "UPDATE log_sequencer_lease SET expires_at = clock_timestamp() - interval '1 second'",
    );
    await b().sequencer.tick();
    expect(b().sequencer.role).toBe('leader');
    expect(b().sequencer.epoch).toBe(2);
    expect(a().sequencer.role).toBe('leader'); // it does not know yet

    const queued = a().appender.appendAll([entry('after-takeover')]);
    while ((await a().db.query('SELECT id FROM log_pending WHERE first_index IS NULL')).length < 1)
      await new Promise(setImmediate);
    // The deposed leader's in-memory tree is ahead of its last checkpoint: signing it is refused.
    await expect(old.checkpoint()).rejects.toMatchObject({ details: { reason: 'sequencer-fenced' } });
    await a().sequencer.integrate();
    expect(a().sequencer.role).toBe('follower');
    expect(a().lines.some((l) => l.includes('stepping down from epoch 1'))).toBe(true);

    await settle(b(), members);
    expect((await queued)[0]?.index).toBe(17);
    const fresh = b().logs[0] as TransparencyLog;
    const signed = await fresh.checkpoint();
    expect(signed.size).toBe(18);

    // Every stored checkpoint is signed by the log key, one per size, with the epoch that signed it.
    const rows = await a().db.query<{ size: number; note: string; signed_epoch: number }>(
      'SELECT size, note, signed_epoch FROM log_checkpoints ORDER BY size',
    );
    expect(rows.map((r) => [r.size, r.signed_epoch])).toEqual([
      [16, 1],
      [18, 2],
    ]);
    for (const row of rows)
      expect(parseCheckpoint(verifyNote(row.note, [parseVerifierKey(KEY.verifierKey)]).text).size).toBe(
        row.size,
      );
  });

  test('a deposed leader that still holds a newer tree in memory cannot store a checkpoint', async () => {
    // Write through the new leader, then make the old term's log try to sign: the fence refuses it.
    const stale = a().logs[0] as TransparencyLog;
    await expect(stale.append(entry('stale'))).rejects.toMatchObject({ code: 'ERR_LOG_UNAVAILABLE' });
    const c = member('host-c/3');
    members.push(c);
    await c.sequencer.tick();
    expect(c.sequencer.role).toBe('follower');
  });
});
