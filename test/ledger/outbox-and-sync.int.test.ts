import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, defineChain, encodeFunctionData, http, type PublicClient } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedChain } from '../../src/chain/index.js';
import { consentRegistryAbi, consortiumRegistryAbi } from '../../src/ledger/contracts.generated.js';
import { type Deployment, deployContracts } from '../../src/ledger/deployment.js';
import { Outbox } from '../../src/ledger/outbox.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import {
  chainIndexMigrations,
  SqliteChainIndexStorage,
} from '../../src/storage/sqlite/sqlite-chain-index-storage.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { ChainIndexer } from '../../src/sync/index.js';
import { findFreePort } from '../support/free-port.js';

const dir = mkdtempSync(join(tmpdir(), 'careledger-outbox-'));
let chain: EmbeddedChain;
let client: PublicClient;

beforeAll(async () => {
  chain = new EmbeddedChain({
    dir: join(dir, 'chain'),
    port: await findFreePort(),
    snapshotIntervalMs: 60_000,
  });
  await chain.start();
  const viemChain = defineChain({
    id: 31337,
    name: 'test',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [chain.rpcUrl] } },
  });
  client = createPublicClient({
    chain: viemChain,
    transport: http(chain.rpcUrl, { retryCount: 0 }),
    pollingInterval: 100,
  });
});

afterAll(async () => {
  await chain?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('outbox, deployment and chain sync on a real anvil', () => {
  it('deploys from an unfunded key at zero gas price, survives an anvil crash, and re-indexes after the rollback', async () => {
    const db = openDatabase(join(dir, 'node.db'), [...outboxMigrations, ...chainIndexMigrations]);
    const account = privateKeyToAccount(generatePrivateKey());
    const outbox = new Outbox({ storage: new SqliteOutboxStorage(db), account, client, chainId: 31337 });
    outbox.start(100);
    const deployment: Deployment = await deployContracts(
      outbox,
      {
        members: [
          {
            account: account.address,
            name: 'General Hospital',
            role: 'provider',
            fhirBaseUrl: 'http://127.0.0.1:1/fhir',
            logOrigin: 'hospital.example/log',
            logVerifierKey: 'hospital.example/log+00000000+AQ==',
            encryptionPublicKey: '0x01',
          },
        ],
        threshold: 1,
      },
      31337,
    );
    await chain.snapshot({ force: true });
    const index = new SqliteChainIndexStorage(db);
    const indexer = new ChainIndexer({ client, storage: index, deployment });
    await indexer.sync();
    expect((await index.members()).map((m) => m.name)).toEqual(['General Hospital']);
    expect((await index.members())[0]?.fhirBaseUrl).toBe('http://127.0.0.1:1/fhir');

    // A transaction that would revert is refused before signing, with the contract's named error.
    await expect(
      outbox.submit({
        label: 'propose',
        to: deployment.contracts.consortiumRegistry,
        data: encodeFunctionData({
          abi: consortiumRegistryAbi,
          functionName: 'vote',
          args: [99n],
        }),
      }),
    ).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', details: { contractError: 'ProposalNotFound' } });

    // Attest three practitioners, wait for them, then crash anvil before any snapshot covers them.
    const entries = [];
    for (let i = 1; i <= 3; i += 1) {
      const practitioner = privateKeyToAccount(generatePrivateKey()).address;
      entries.push(
        await outbox.submit({
          label: 'attestPractitioner',
          to: deployment.contracts.consortiumRegistry,
          data: encodeFunctionData({
            abi: consortiumRegistryAbi,
            functionName: 'attestPractitioner',
            args: [practitioner, `0x${'ab'.repeat(32)}`, 'MD', 4_000_000_000n],
          }),
        }),
      );
    }
    for (const entry of entries)
      expect((await outbox.waitForConfirmation(entry.id)).receiptStatus).toBe('success');
    await indexer.sync();
    const before = await index.eventCount();

    const startsBefore = chain.starts;
    await chain.kill();
    await chain.whenReady();
    expect(chain.starts).toBe(startsBefore + 1);
    // The restored chain lacks the three attestations until the outbox re-sends them.
    for (const entry of entries)
      expect((await outbox.waitForConfirmation(entry.id)).status).toBe('confirmed');
    await outbox.pump();
    for (const entry of entries) {
      const receipt = await client.waitForTransactionReceipt({ hash: entry.txHash, timeout: 20_000 });
      expect(receipt.status).toBe('success');
    }
    await indexer.sync();
    await indexer.sync();
    expect(await index.eventCount()).toBe(before);
    const status = await indexer.status();
    expect(status.reorgs).toBeGreaterThanOrEqual(1);
    expect(status.lagBlocks).toBe(0);
    // The consent view on chain answers from restored state.
    expect(
      await client.readContract({
        address: deployment.contracts.consentRegistry,
        abi: consentRegistryAbi,
        functionName: 'nonces',
        args: [account.address],
      }),
    ).toBe(0n);
    await outbox.stop();
    await indexer.stop();
    db.close();
  });
});
