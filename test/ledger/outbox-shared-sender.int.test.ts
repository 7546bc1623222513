/**
 * One member, several processes, one ledger key, one outbox table (`node start --workers N` on
 * SQLite; every process a whole node on PostgreSQL). Each process has its own `Outbox`: the nonce must
 * come from the database, never from a counter another process cannot see. Two `Outbox` instances on
 * separate connections to the same database stand in for two processes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChainClient } from '../../src/chain/index.js';
import { Outbox } from '../../src/ledger/outbox.js';
import type { OutboxEntry, OutboxStorage } from '../../src/ledger/outbox-storage.js';
import { openPostgresDatabase } from '../../src/storage/postgres/postgres-database.js';
import { migratePostgres } from '../../src/storage/postgres/postgres-migrations.js';
import { PostgresOutboxStorage } from '../../src/storage/postgres/postgres-outbox-storage.js';
import { POSTGRES_MIGRATIONS } from '../../src/storage/postgres/postgres-schema.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { anvilAccount, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';

/** Creation code that deploys an empty contract: needs no contract on the chain to simulate. */
const EMPTY_CONTRACT = '0x6080604052' as const;

const dir = mkdtempSync(join(tmpdir(), 'careledger-shared-outbox-'));
let anvil: TestAnvil;
let postgres: TestPostgres;
beforeAll(async () => {
  // Interval mining: the facts sheet (LEDGER-FACTS) saw automine stall with concurrent senders.
  [anvil, postgres] = await Promise.all([
    startTestAnvil({ args: ['--block-time', '1'] }),
    startTestPostgres(),
  ]);
});
afterAll(async () => {
  await anvil?.stop();
  await postgres?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface TwoConnections {
  readonly first: OutboxStorage;
  readonly second: OutboxStorage;
  close(): Promise<void>;
}

const adapters: { name: string; open(): Promise<TwoConnections> }[] = [
  {
    name: 'SQLite',
    async open() {
      const file = join(dir, `node-${Math.random().toString(36).slice(2)}.db`);
      const a = openDatabase(file, outboxMigrations);
      const b = openDatabase(file, outboxMigrations);
      return {
        first: new SqliteOutboxStorage(a),
        second: new SqliteOutboxStorage(b),
        async close() {
          a.close();
          b.close();
        },
      };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const url = await postgres.createDatabase(`outbox_${Math.random().toString(36).slice(2, 10)}`);
      const a = openPostgresDatabase(url);
      await migratePostgres(a, POSTGRES_MIGRATIONS);
      const b = openPostgresDatabase(url);
      return {
        first: new PostgresOutboxStorage(a),
        second: new PostgresOutboxStorage(b),
        async close() {
          await a.close();
          await b.close();
        },
      };
    },
  },
];

describe.each(adapters)('two outboxes of one member on $name', (adapter) => {
  it('take contiguous nonces from the database, interleaved and concurrent, and all are mined', async () => {
    const storage = await adapter.open();
    // Each adapter gets its own funded anvil account: the chain is shared by the two cases.
    const account = anvilAccount(adapter.name === 'SQLite' ? 7 : 8);
    const client = createChainClient(anvil.url, 31337);
    const primary = new Outbox({ storage: storage.first, account, client, chainId: 31337 });
    const worker = new Outbox({ storage: storage.second, account, client, chainId: 31337 });
    const deploy = (outbox: Outbox, label: string) =>
      outbox.submit({ label, to: null, data: EMPTY_CONTRACT });
    try {
      const entries: OutboxEntry[] = [];
      // The reported case: the primary anchors, a worker relays, the primary anchors again...
      for (let i = 0; i < 3; i++) {
        entries.push(await deploy(primary, `anchor ${i}`));
        entries.push(await deploy(worker, `relayGrant ${i}`));
      }
      // ...and both at once: the database decides who holds which nonce.
      entries.push(
        ...(await Promise.all([
          deploy(primary, 'anchor 3'),
          deploy(worker, 'relayGrant 3'),
          deploy(primary, 'anchor 4'),
          deploy(worker, 'relayGrant 4'),
        ])),
      );

      const nonces = entries.map((entry) => entry.nonce).sort((x, y) => x - y);
      expect(nonces).toEqual([...Array(entries.length).keys()]);
      // Only one process runs the sender loop; it sends and confirms what the other one stored too.
      expect(await primary.drain(60_000)).toBe(0);
      expect(await primary.counts()).toEqual({ sent: 0, confirmed: entries.length, failed: 0 });
      expect(await worker.counts()).toEqual({ sent: 0, confirmed: entries.length, failed: 0 });
      expect(await client.getTransactionCount({ address: account.address })).toBe(entries.length);
    } finally {
      await primary.stop();
      await worker.stop();
      await storage.close();
    }
  }, 120_000);
});
