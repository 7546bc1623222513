/**
 * The outbox's timer tick when nothing waits for a receipt (issue 16, background polling): it reads
 * its table and asks the chain nothing, except for the lost-block check every
 * IDLE_LOST_BLOCK_CHECK_MS. A transaction whose block was lost is still sent again, by that check.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, custom, type PublicClient } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDLE_LOST_BLOCK_CHECK_MS, Outbox } from '../../src/ledger/outbox.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { anvilAccount, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';

/** Creation code of an empty contract. */
const EMPTY_CONTRACT = '0x6080604052' as const;

const dir = mkdtempSync(join(tmpdir(), 'careledger-outbox-idle-'));
let anvil: TestAnvil;

beforeAll(async () => {
  // Automine: each transaction is mined as it is sent, so every state below is reached without waiting.
  anvil = await startTestAnvil();
});

afterAll(async () => {
  await anvil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('Outbox timer tick', () => {
  it('asks the chain nothing while idle but for the lost-block check, which still re-sends', async () => {
    const calls: string[] = [];
    const client = createPublicClient({
      chain: anvil.chain,
      transport: custom({
        request: ({ method, params }) => {
          calls.push(method);
          return anvil.publicClient.request({ method, params } as never);
        },
      }),
    }) as PublicClient;
    let clock = 1_000_000;
    const db = openDatabase(join(dir, 'node.db'), outboxMigrations);
    const outbox = new Outbox({
      storage: new SqliteOutboxStorage(db),
      account: anvilAccount(2),
      client,
      chainId: anvil.chain.id,
      now: () => clock,
    });
    const mined = (hash: `0x${string}`) =>
      anvil.publicClient.waitForTransactionReceipt({ hash, pollingInterval: 10 });
    const first = await outbox.submit({ label: 'deploy', to: null, data: EMPTY_CONTRACT });
    await mined(first.txHash);
    // Sent and not yet confirmed: the tick is a full pass and finds the receipt.
    calls.length = 0;
    await outbox.pumpWhenDue();
    expect(calls).toContain('eth_getTransactionReceipt');
    expect((await outbox.counts()).confirmed).toBe(1);

    calls.length = 0;
    for (let i = 0; i < 5; i++) {
      clock += 250;
      await outbox.pumpWhenDue();
    }
    expect(calls).toEqual([]);
    clock += IDLE_LOST_BLOCK_CHECK_MS;
    await outbox.pumpWhenDue();
    expect(calls).toEqual(['eth_getBlockByNumber']);

    // The block of a confirmed transaction is lost (the chain goes back to before it).
    const snapshot = await anvil.testClient.snapshot();
    const second = await outbox.submit({ label: 'deploy', to: null, data: EMPTY_CONTRACT });
    await mined(second.txHash);
    await outbox.pump();
    expect((await outbox.counts()).confirmed).toBe(2);
    await anvil.testClient.revert({ id: snapshot });
    await expect(anvil.publicClient.getTransactionReceipt({ hash: second.txHash })).rejects.toThrow();
    calls.length = 0;
    clock += 250;
    await outbox.pumpWhenDue();
    expect(calls).toEqual([]);
    clock += IDLE_LOST_BLOCK_CHECK_MS;
    await outbox.pumpWhenDue();
    // Found lost, sent again (and mined at once), then confirmed by the next tick.
    expect(calls).toContain('eth_sendRawTransaction');
    expect((await mined(second.txHash)).status).toBe('success');
    await outbox.pumpWhenDue();
    expect((await outbox.counts()).confirmed).toBe(2);
    expect((await anvil.publicClient.getTransactionReceipt({ hash: first.txHash })).status).toBe('success');
    db.close();
  });
});
