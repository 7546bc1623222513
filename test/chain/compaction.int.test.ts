/**
 * The embedded chain keeps its persisted history bounded: once `historyBlocks` blocks were mined since
 * start, a snapshot triggers a restart that drops older blocks and transactions. Contract state must
 * survive untouched, confirmed outbox entries must not be mistaken for lost ones, and chain sync must
 * carry on.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeFunctionData } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import { createChainClient, EmbeddedChain } from '../../src/chain/index.js';
import { consortiumRegistryAbi, deployContracts, Outbox } from '../../src/ledger/index.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import {
  chainIndexMigrations,
  SqliteChainIndexStorage,
} from '../../src/storage/sqlite/sqlite-chain-index-storage.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { ChainIndexer } from '../../src/sync/index.js';
import { findFreePort } from '../support/free-port.js';

const dir = mkdtempSync(join(tmpdir(), 'careledger-compact-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('history compaction of the embedded chain', () => {
  it('drops old history on a maintenance restart and keeps every contract answer', async () => {
    const lines: string[] = [];
    const chain = new EmbeddedChain({
      dir: join(dir, 'chain'),
      port: await findFreePort(),
      historyBlocks: 4,
      snapshotIntervalMs: 3_600_000,
      onLog: (line) => lines.push(line),
    });
    await chain.start();
    try {
      const client = createChainClient(chain.rpcUrl, 31337);
      const db = openDatabase(join(dir, 'node.db'), [...outboxMigrations, ...chainIndexMigrations]);
      const account = privateKeyToAccount(generatePrivateKey());
      const outbox = new Outbox({ storage: new SqliteOutboxStorage(db), account, client, chainId: 31337 });
      outbox.start(100);
      const deployment = await deployContracts(
        outbox,
        {
          members: [
            {
              account: account.address,
              name: 'Compact Clinic',
              role: 'provider',
              fhirBaseUrl: 'http://127.0.0.1:1/fhir',
              logOrigin: 'compact.example/log',
              logVerifierKey: 'compact.example/log+00000000+AQ==',
              encryptionPublicKey: '0x',
            },
          ],
          threshold: 1,
        },
        31337,
      );
      const index = new SqliteChainIndexStorage(db);
      const indexer = new ChainIndexer({ client, storage: index, deployment });
      const attest = async () => {
        const practitioner = privateKeyToAccount(generatePrivateKey()).address;
        const entry = await outbox.submit({
          label: 'attestPractitioner',
          to: deployment.contracts.consortiumRegistry,
          data: encodeFunctionData({
            abi: consortiumRegistryAbi,
            functionName: 'attestPractitioner',
            args: [practitioner, `0x${'cd'.repeat(32)}`, 'RN', 4_000_000_000n],
          }),
        });
        await outbox.waitForConfirmation(entry.id);
        return practitioner;
      };
      const early = await attest();
      await indexer.sync();
      // Mine past the window, then snapshot: this triggers the compacting restart.
      while ((await chain.blockNumber()) < 12) await new Promise((resolve) => setTimeout(resolve, 250));
      const startsBefore = chain.starts;
      await chain.snapshot({ force: true });
      expect(chain.starts).toBe(startsBefore + 1);
      expect(lines.some((line) => line.startsWith('history compacted:'))).toBe(true);

      // Old history is gone, state is not: the early attestation still answers from the contract.
      const [valid] = await client.readContract({
        address: deployment.contracts.consortiumRegistry,
        abi: consortiumRegistryAbi,
        functionName: 'practitionerStatus',
        args: [early, BigInt(Math.floor(Date.now() / 1000))],
      });
      expect(valid).toBe(true);
      await outbox.pump();
      expect((await outbox.counts()).sent).toBe(0);

      const late = await attest();
      await indexer.sync();
      expect((await index.practitioner(early))?.qualificationCode).toBe('RN');
      expect((await index.practitioner(late))?.qualificationCode).toBe('RN');
      expect((await indexer.status()).reorgs).toBe(0);
      expect(statSync(chain.snapshotPath).size).toBeGreaterThan(0);
      await outbox.stop();
      await indexer.stop();
      db.close();
    } finally {
      await chain.stop();
    }
  });
});
