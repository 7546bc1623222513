/**
 * A k round survives its coordinator's restart (decision 0050): the hospital (lowest address, so the
 * coordinator) sends its entries, its node stops, the lab's request finds no coordinator and asks
 * again, the node comes back over the same database and the lab's entries complete the round; the
 * hospital asking again gets the same decision. Over real HTTP and a real SQLite file, then a real
 * PostgreSQL. Before, rounds lived in the coordinator's memory: the restarted node knew no entries of
 * the hospital, answered the lab `waiting` until its deadline, and the lab's request to the stopped node
 * failed the lab's release at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Address } from 'viem';
import { afterAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../../test/support/free-port.js';
import { startTestPostgres } from '../../../test/support/test-postgres.js';
import { CareLedgerError } from '../../errors/index.js';
import { openPostgresDatabase } from '../../storage/postgres/postgres-database.js';
import { PostgresKRoundStorage } from '../../storage/postgres/postgres-k-round-storage.js';
import { migratePostgres } from '../../storage/postgres/postgres-migrations.js';
import { POSTGRES_MIGRATIONS } from '../../storage/postgres/postgres-schema.js';
import { openDatabase } from '../../storage/sqlite/open-database.js';
import { kRoundMigrations, SqliteKRoundStorage } from '../../storage/sqlite/sqlite-k-round-storage.js';
import type { KRoundEntry } from './k-round.js';
import { createKRoundPort, type DataMember } from './k-round-client.js';
import { KRoundCoordinator } from './k-round-coordinator.js';
import { createKRoundRoutes } from './k-round-routes.js';
import type { KRoundStorage } from './k-round-store.js';

const HOSPITAL = '0x1000000000000000000000000000000000000001' as Address;
const LAB = '0x2000000000000000000000000000000000000002' as Address;
const STUDY = `0x${'ab'.repeat(32)}` as const;
const link = (n: number) => n.toString(16).padStart(64, '0');
const classKey = (zip3: string) => JSON.stringify(['1980', 'female', zip3]);
/** Patients 1–4 in the same ZIP3 at both members; patient 5 moved (021 at the hospital, 018 at the lab). */
const entriesOf = (zips: string[]): KRoundEntry[] =>
  zips.map((zip, i) => ({ link: link(i + 1), classKey: classKey(zip) }));
const hospital = entriesOf(['021', '021', '018', '018', '021']);
const lab = entriesOf(['021', '021', '018', '018', '018']);

const closers: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

interface OpenedStorage {
  readonly storage: KRoundStorage;
  /** The round's entries column, read straight from the database. */
  entriesColumn(roundId: string): Promise<(string | null)[]>;
  close(): Promise<void>;
}

/** The hospital's node: its coordinator over the storage and `POST /research/k-rounds/{round}` on `port`. */
async function startHospital(port: number, opened: OpenedStorage, now: () => number) {
  const members: DataMember[] = [
    { address: HOSPITAL, base: `http://127.0.0.1:${port}` },
    { address: LAB, base: 'http://127.0.0.1:1' },
  ];
  const coordinator = new KRoundCoordinator({
    dataMembers: async () => [HOSPITAL, LAB],
    studyK: async () => 2,
    storage: opened.storage,
    holdMs: 0,
    now,
  });
  const app = new Hono();
  app.route(
    '/research',
    createKRoundRoutes({
      coordinator,
      self: HOSPITAL,
      dataMembers: async () => members,
      authenticate: async (c) => {
        if (c.req.header('authorization') !== 'Bearer lab-token')
          throw new CareLedgerError('ERR_UNAUTHENTICATED', 'no member token');
        return { who: `Organization/${LAB}`, purpose: 'HRESCH', member: LAB };
      },
    }),
  );
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return {
    coordinator,
    members,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await opened.close();
    },
  };
}

async function completesAfterRestart(open: () => Promise<OpenedStorage>) {
  let clock = Date.parse('2026-12-07T20:00:00Z');
  const now = () => clock;
  const port = await findFreePort();
  let node = await startHospital(port, await open(), now);
  const roundId = `round-restart-${port}`;
  expect(await node.coordinator.submit(roundId, STUDY, HOSPITAL, hospital)).toEqual({
    state: 'waiting',
    missing: 1,
  });
  await node.stop();

  // The lab asks the stopped coordinator; between its asks the hospital's node starts again.
  let restarts = 0;
  const labPort = createKRoundPort({
    self: LAB,
    coordinator: new KRoundCoordinator({ dataMembers: async () => [], studyK: async () => 2 }),
    dataMembers: async () => node.members,
    token: async () => 'lab-token',
    now,
    // One ask after the restart: a coordinator that lost the round answers `waiting`, and the lab gives up.
    deadlineMs: 1_000,
    wait: async () => {
      restarts += 1;
      clock += 2_000;
      node = await startHospital(port, await open(), now);
    },
  });
  const decided = await labPort.decide(roundId, STUDY, lab);
  expect(restarts).toBe(1);
  expect(decided).toMatchObject({ coordinator: HOSPITAL, members: [HOSPITAL, LAB] });
  expect(decided.decision.suppress).toEqual([link(5)]);
  expect(decided.decision.counts).toMatchObject({ members: 2, patients: 5, suppressedPatients: 1 });

  // The hospital asks again after the restart: the same decision; other entries are refused.
  expect(await node.coordinator.submit(roundId, STUDY, HOSPITAL, hospital)).toMatchObject({
    state: 'decided',
    decision: { suppress: [link(5)] },
  });
  await expect(node.coordinator.submit(roundId, STUDY, HOSPITAL, hospital.slice(1))).rejects.toMatchObject({
    details: { reason: 'round-entries-changed' },
  });
  const opened = await open();
  // Decided: the links and class keys are dropped, only their digests stay.
  expect(await opened.entriesColumn(roundId)).toEqual([null, null]);
  // 30 minutes after it began, the round is forgotten.
  clock += 31 * 60_000;
  await node.coordinator.submit(`other-${roundId}`, STUDY, HOSPITAL, []);
  expect(await opened.storage.getRound(roundId)).toBeUndefined();
  await opened.close();
  await node.stop();
}

describe('a k round across a restart of its coordinator', () => {
  it('completes on SQLite: the entries sent before the restart are kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'careledger-k-round-'));
    closers.push(() => rmSync(dir, { recursive: true, force: true }));
    const open = async (): Promise<OpenedStorage> => {
      const db = openDatabase(join(dir, 'node.db'), kRoundMigrations);
      return {
        storage: new SqliteKRoundStorage(db),
        entriesColumn: async (roundId) =>
          (
            db.prepare('SELECT entries FROM research_k_round_entries WHERE round_id = ?').all(roundId) as {
              entries: string | null;
            }[]
          ).map((r) => r.entries),
        close: async () => {
          db.close();
        },
      };
    };
    await completesAfterRestart(open);
  });

  it('completes on PostgreSQL, the rounds shared by the member’s hosts', async () => {
    const pg = await startTestPostgres();
    closers.push(() => pg.close());
    const open = async (): Promise<OpenedStorage> => {
      const db = openPostgresDatabase(pg.url);
      await migratePostgres(db, POSTGRES_MIGRATIONS);
      return {
        storage: new PostgresKRoundStorage(db),
        entriesColumn: async (roundId) =>
          (
            await db.query<{ entries: string | null }>(
              'SELECT entries FROM research_k_round_entries WHERE round_id = $1',
              [roundId],
            )
          ).map((r) => r.entries),
        close: () => db.close(),
      };
    };
    await completesAfterRestart(open);
  }, 120_000);
});
