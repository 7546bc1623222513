/**
 * The ledger index's RecordLocator table over real SQLite: RecordsLocated / RecordsWithdrawn fold
 * into idx_record_locations, a replayed batch changes nothing, and a rollback (re-org, or a chain
 * restored from an older snapshot) rebuilds the table from the events that remain.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/open-database.js';
import {
  chainIndexMigrations,
  SqliteChainIndexStorage,
} from '../../src/storage/sqlite/sqlite-chain-index-storage.js';
import type { BlockRef, IndexedEvent } from '../../src/sync/index.js';

const PATIENT = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as Address;
const OTHER = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' as Address;
const A = '0x90F79bf6EB2c4f870365E785982E1f101E93b906' as Address;
const B = '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65' as Address;

const hash = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;
const block = (n: number): BlockRef => ({ number: n, hash: hash(n) });

function event(
  blockNumber: number,
  logIndex: number,
  name: 'RecordsLocated' | 'RecordsWithdrawn',
  patient: Address,
  member: Address,
): IndexedEvent {
  return {
    blockNumber,
    blockHash: hash(blockNumber),
    logIndex,
    txHash: hash(1000 + blockNumber * 10 + logIndex),
    contract: 'locator',
    name,
    args: { patient, member },
  };
}

let dir: string;
let db: SqliteDatabase;
let index: SqliteChainIndexStorage;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'careledger-locations-'));
  db = openDatabase(join(dir, 'node.db'), chainIndexMigrations);
  index = new SqliteChainIndexStorage(db);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the index of record locations', () => {
  it('folds announcements and withdrawals, in announcement order, per patient', async () => {
    await index.applyBatch({
      events: [
        event(1, 0, 'RecordsLocated', PATIENT, B),
        event(2, 0, 'RecordsLocated', PATIENT, A),
        event(2, 1, 'RecordsLocated', OTHER, A),
      ],
      blocks: [block(1), block(2)],
      cursor: block(2),
    });
    expect(await index.recordLocations(PATIENT)).toEqual([B, A]);
    expect(await index.recordLocations(OTHER)).toEqual([A]);

    await index.applyBatch({
      events: [event(3, 0, 'RecordsWithdrawn', PATIENT, B)],
      blocks: [block(3)],
      cursor: block(3),
    });
    expect(await index.recordLocations(PATIENT)).toEqual([A]);
    expect(await index.recordLocations(OTHER)).toEqual([A]);
  });

  it('ignores a replayed batch', async () => {
    const batch = {
      events: [event(1, 0, 'RecordsLocated', PATIENT, A), event(2, 0, 'RecordsWithdrawn', PATIENT, A)],
      blocks: [block(1), block(2)],
      cursor: block(2),
    };
    await index.applyBatch(batch);
    await index.applyBatch({
      events: [event(3, 0, 'RecordsLocated', PATIENT, B)],
      blocks: [block(3)],
      cursor: block(3),
    });
    await index.applyBatch(batch);
    expect(await index.recordLocations(PATIENT)).toEqual([B]);
  });

  it('rebuilds from the remaining events on a rollback', async () => {
    await index.applyBatch({
      events: [event(1, 0, 'RecordsLocated', PATIENT, A), event(1, 1, 'RecordsLocated', PATIENT, B)],
      blocks: [block(1)],
      cursor: block(1),
    });
    await index.applyBatch({
      events: [event(2, 0, 'RecordsWithdrawn', PATIENT, A), event(2, 1, 'RecordsLocated', OTHER, B)],
      blocks: [block(2)],
      cursor: block(2),
    });
    expect(await index.recordLocations(PATIENT)).toEqual([B]);

    // Block 2 vanished: A's withdrawal and OTHER's pointer go with it.
    await index.rollbackTo(block(1));
    expect(await index.recordLocations(PATIENT)).toEqual([A, B]);
    expect(await index.recordLocations(OTHER)).toEqual([]);
    expect(await index.cursor()).toEqual(block(1));

    await index.rollbackTo(undefined);
    expect(await index.recordLocations(PATIENT)).toEqual([]);
  });
});
