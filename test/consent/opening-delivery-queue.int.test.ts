import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type ConsentOpening, MemoryConsentOpeningStore } from '../../src/consent/consent-opening.js';
import { createOpeningDeliveryQueue } from '../../src/consent/opening-delivery-queue.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/open-database.js';
import {
  openingDeliveryMigrations,
  SqliteOpeningDeliveryStore,
} from '../../src/storage/sqlite/sqlite-opening-delivery-store.js';
import type { IndexedGrant, IndexedMember } from '../../src/sync/index.js';

const SELF = '0x1000000000000000000000000000000000000001' as Address;
const TARGET = '0x2000000000000000000000000000000000000002' as Address;
const PATIENT = '0x3000000000000000000000000000000000000003' as Address;
const START = Date.UTC(2026, 11, 7);

function opening(n: number): ConsentOpening {
  return {
    grantId: `0x${n.toString(16).padStart(64, '0')}` as Hex,
    signature: `0x${'ab'.repeat(65)}` as Hex,
    grant: {
      patient: PATIENT,
      grantee: TARGET,
      categories: 1n,
      purposes: 1n,
      salt: `0x${'11'.repeat(32)}` as Hex,
      notBefore: 0n,
      notAfter: BigInt(START / 1000 + 365 * 86_400),
      nonce: BigInt(n),
    },
  };
}

/** The receiving member: a real HTTP server that acknowledges openings and remembers their grant ids. */
class TargetNode {
  readonly received: Hex[] = [];
  private server: Server | undefined;
  constructor(readonly port: number) {}

  async up(): Promise<void> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        if (req.url === '/ledger/consent/openings' && req.method === 'POST') {
          this.received.push((JSON.parse(body) as { grantId: Hex }).grantId);
          res.writeHead(201).end('{}');
        } else res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('durable consent opening delivery (decision 0013)', () => {
  let dir: string;
  let db: SqliteDatabase;
  let target: TargetNode;
  let clock: number;
  const openings = new MemoryConsentOpeningStore();
  const revoked = new Set<string>();
  const index = {
    members: async (): Promise<IndexedMember[]> => [
      {
        address: TARGET,
        name: 'target',
        role: 1,
        fhirBaseUrl: `http://127.0.0.1:${target.port}/fhir`,
        logOrigin: 'target',
        logVerifierKey: '',
        encryptionPublicKey: '0x',
        status: 'active',
        admittedBlock: 1,
      },
    ],
    practitioner: async () => undefined,
    recordLocations: async () => [] as Address[],
    grant: async (grantId: Hex): Promise<IndexedGrant | undefined> => {
      const o = await openings.load(grantId);
      if (o === undefined) return undefined;
      return {
        grantId,
        patient: o.grant.patient,
        grantee: o.grant.grantee,
        termsHash: '0x',
        notBefore: Number(o.grant.notBefore),
        notAfter: Number(o.grant.notAfter),
        nonce: o.grant.nonce,
        revokedAt: revoked.has(grantId) ? START / 1000 : null,
        blockNumber: 1,
        txHash: '0x',
      };
    },
  };
  const queue = (database: SqliteDatabase) =>
    createOpeningDeliveryQueue({
      store: new SqliteOpeningDeliveryStore(database),
      index,
      openings,
      self: SELF,
      now: () => clock,
      baseDelayMs: 1_000,
      maxDelayMs: 8_000,
      timeoutMs: 2_000,
    });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'opening-delivery-'));
    db = openDatabase(join(dir, 'node.db'), openingDeliveryMigrations);
    target = new TargetNode(await freePort());
    clock = START;
  });

  afterEach(async () => {
    await target.down();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers to a member that was down at grant time once it is back, with bounded backoff', async () => {
    const q = queue(db);
    const o = opening(1);
    await openings.save(o);
    const first = await q.enqueue(o);
    expect(first).toEqual([{ member: TARGET, delivered: false, error: 'TypeError' }]);
    expect(await q.status()).toEqual({ pending: 1, delivered: 0, failed: 0, lastError: 'TypeError' });

    // Not due yet: nothing is sent. Then due, still down: the delay doubles (1 s, 2 s, 4 s, 8 s, 8 s).
    expect(await q.pump()).toBe(0);
    for (const delay of [1_000, 2_000, 4_000, 8_000]) {
      clock += delay;
      expect(await q.pump()).toBe(1);
    }
    clock += 7_999;
    expect(await q.pump()).toBe(0);

    await target.up();
    clock += 1;
    expect(await q.pump()).toBe(1);
    expect(target.received).toEqual([o.grantId]);
    expect(await q.status()).toEqual({ pending: 0, delivered: 1, failed: 0, lastError: null });
    // Acknowledged: a later ledger event does not send it again.
    expect(await q.enqueue(o)).toEqual([{ member: TARGET, delivered: true }]);
    expect(target.received).toHaveLength(1);
  });

  it('resumes pending deliveries after the sender restarts', async () => {
    const o = opening(2);
    await openings.save(o);
    await queue(db).enqueue(o);
    db.close();

    // The sender restarts (same database file, new queue); the target comes back meanwhile.
    db = openDatabase(join(dir, 'node.db'), openingDeliveryMigrations);
    await target.up();
    const restarted = queue(db);
    expect((await restarted.status()).pending).toBe(1);
    clock += 1_000;
    expect(await restarted.pump()).toBe(1);
    expect(target.received).toEqual([o.grantId]);
    expect((await restarted.status()).delivered).toBe(1);
  });

  it('sends a due pair once when two processes pump at the same time (claimed, decision 0014 §9)', async () => {
    const o = opening(5);
    await openings.save(o);
    await queue(db).enqueue(o);
    // Another process of the member: its own connection to the same database file.
    const other = openDatabase(join(dir, 'node.db'), openingDeliveryMigrations);
    try {
      await target.up();
      clock += 1_000;
      const handled = await Promise.all([queue(db).pump(), queue(other).pump()]);
      expect(handled.sort()).toEqual([0, 1]);
      expect(target.received).toEqual([o.grantId]);
    } finally {
      other.close();
    }
  });

  it('does not deliver a grant revoked (or expired) while it waited, and says why', async () => {
    const q = queue(db);
    const r = opening(3);
    const e = { ...opening(4), grant: { ...opening(4).grant, notAfter: BigInt(START / 1000 + 10) } };
    await openings.save(r);
    await openings.save(e);
    await q.enqueue(r);
    await q.enqueue(e);
    revoked.add(r.grantId);
    await target.up();
    clock += 60_000;
    expect(await q.pump()).toBe(2);
    expect(target.received).toEqual([]);
    const status = await q.status();
    expect(status).toMatchObject({ pending: 0, delivered: 0, failed: 2 });
    expect(['grant-revoked', 'grant-expired']).toContain(status.lastError);
    // A revoked grant queued again (a later ledger event) is dropped, not sent.
    expect(await q.enqueue(r)).toEqual([{ member: TARGET, delivered: false, error: 'grant-revoked' }]);
    expect(target.received).toEqual([]);
  });
});
