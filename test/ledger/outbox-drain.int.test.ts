/**
 * A planned stop drains the outbox (issue 15): it waits until what the node signed is mined, so the
 * chain's final snapshot, taken after the nodes stop, holds it. The wait is bounded: with the chain
 * gone it returns after its time with the number still unmined, which stay stored for the next start.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keccak256 } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { createChainClient, EmbeddedChain } from '../../src/chain/index.js';
import { Outbox } from '../../src/ledger/outbox.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { findFreePort } from '../support/free-port.js';

const dir = mkdtempSync(join(tmpdir(), 'careledger-drain-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Creation code that deploys an empty contract: needs no contract on the chain to simulate. */
const EMPTY_CONTRACT = '0x6080604052' as const;

describe('Outbox.drain', () => {
  it('returns once every stored transaction is mined, and after its bound when the chain is gone', async () => {
    const chain = new EmbeddedChain({
      dir: join(dir, 'chain'),
      port: await findFreePort(),
      restartOnCrash: false,
    });
    await chain.start();
    const db = openDatabase(join(dir, 'node.db'), outboxMigrations);
    const storage = new SqliteOutboxStorage(db);
    const account = privateKeyToAccount(generatePrivateKey());
    const outbox = new Outbox({
      storage,
      account,
      client: createChainClient(chain.rpcUrl, 31337),
      chainId: 31337,
    });
    try {
      // Interval mining (one block a second): stored and sent, mined at the next block.
      for (let i = 0; i < 3; i++)
        await outbox.submit({ label: `deploy ${i}`, to: null, data: EMPTY_CONTRACT });
      expect(await outbox.drain(30_000)).toBe(0);
      expect(await outbox.counts()).toEqual({ sent: 0, confirmed: 3, failed: 0 });

      await chain.stop();
      const rawTransaction = await account.signTransaction({
        type: 'legacy',
        chainId: 31337,
        nonce: 3,
        data: EMPTY_CONTRACT,
        gas: 100_000n,
        gasPrice: 0n,
      });
      await storage.insert({
        label: 'after the chain stopped',
        from: account.address,
        to: null,
        nonce: 3,
        rawTransaction,
        txHash: keccak256(rawTransaction),
        createdAt: Date.now(),
      });
      expect(await outbox.drain(500)).toBe(1);
      expect((await outbox.counts()).sent).toBe(1);
    } finally {
      await outbox.stop();
      db.close();
      await chain.stop();
    }
  });
});
