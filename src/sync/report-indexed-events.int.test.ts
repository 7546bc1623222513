import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { openDatabase } from '../storage/sqlite/open-database.js';
import {
  chainIndexMigrations,
  SqliteChainIndexStorage,
} from '../storage/sqlite/sqlite-chain-index-storage.js';
import type { IndexedEvent } from './index-storage.js';
import { reportIndexedEvents } from './report-indexed-events.js';

test('reports each batch and rollback on both sides of the write, and is otherwise the same storage', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'careledger-report-'));
  const db = openDatabase(join(dir, 'node.db'), chainIndexMigrations);
  try {
    const seen: string[] = [];
    const storage = reportIndexedEvents(new SqliteChainIndexStorage(db), {
      onEvents: (events) => seen.push(`events:${events.length}`),
      onRollback: () => seen.push('rollback'),
    });
    const block = { number: 7, hash: `0x${'07'.repeat(32)}` as const };
    const anchored: IndexedEvent = {
      blockNumber: 7,
      blockHash: block.hash,
      logIndex: 0,
      txHash: `0x${'aa'.repeat(32)}`,
      contract: 'anchor',
      name: 'CheckpointAnchored',
      args: {
        origin: 'x.example/log',
        treeSize: '1',
        rootHash: `0x${'11'.repeat(32)}`,
        noteHash: `0x${'22'.repeat(32)}`,
        member: `0x${'33'.repeat(20)}`,
        anchoredAt: '1',
      },
    };
    await storage.applyBatch({ events: [anchored], blocks: [block], cursor: block });
    expect(await storage.cursor()).toEqual(block);
    expect(await storage.eventCount()).toBe(1);
    await storage.rollbackTo(undefined);
    expect(await storage.eventCount()).toBe(0);
    expect(seen).toEqual(['events:1', 'events:1', 'rollback', 'rollback']);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
