/**
 * What the chain indexer asks the chain per sync (issue 16: its polling was most of an idle node's
 * CPU). A sync that finds nothing new asks once; one new block on top of the cursor twice; anything
 * else (several blocks, a fork) takes the full path with its fork check. The index must come out the
 * same as a fresh indexer's that reads everything through the full path.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, custom, type PublicClient } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consortiumRegistryAbi } from '../../src/ledger/contracts.generated.js';
import { type Deployment, deployContracts } from '../../src/ledger/deployment.js';
import { Outbox } from '../../src/ledger/outbox.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import {
  chainIndexMigrations,
  SqliteChainIndexStorage,
} from '../../src/storage/sqlite/sqlite-chain-index-storage.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { ChainIndexer } from '../../src/sync/index.js';
import { anvilAccount, startTestAnvil, type TestAnvil } from '../support/test-anvil.js';

const dir = mkdtempSync(join(tmpdir(), 'careledger-indexer-polling-'));
let anvil: TestAnvil;

beforeAll(async () => {
  // Automine: a block only when a transaction is sent or the test mines one, so "nothing new" holds.
  anvil = await startTestAnvil();
});

afterAll(async () => {
  await anvil?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The test chain's client, with every JSON-RPC method it is asked for written down. */
function countingClient(calls: string[]): PublicClient {
  return createPublicClient({
    chain: anvil.chain,
    transport: custom({
      request: ({ method, params }) => {
        calls.push(method);
        return anvil.publicClient.request({ method, params } as never);
      },
    }),
  }) as PublicClient;
}

describe('ChainIndexer polling', () => {
  it('asks once when idle, twice for one new block, and indexes what a full read indexes', async () => {
    const db = openDatabase(join(dir, 'node.db'), [...outboxMigrations, ...chainIndexMigrations]);
    const outbox = new Outbox({
      storage: new SqliteOutboxStorage(db),
      account: anvilAccount(0),
      client: anvil.publicClient as PublicClient,
      chainId: anvil.chain.id,
    });
    outbox.start(20);
    const deployment: Deployment = await deployContracts(
      outbox,
      {
        members: [
          {
            account: anvilAccount(0).address,
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
      anvil.chain.id,
    );
    // From here on the member's transactions go straight to anvil: an outbox would send the forked-away
    // ones again.
    await outbox.stop();
    const attest = async () => {
      await anvil.write(anvilAccount(0), {
        address: deployment.contracts.consortiumRegistry,
        abi: consortiumRegistryAbi,
        functionName: 'attestPractitioner',
        args: [
          privateKeyToAccount(generatePrivateKey()).address,
          `0x${'ab'.repeat(32)}`,
          'MD',
          4_000_000_000n,
        ],
      });
    };
    const calls: string[] = [];
    const index = new SqliteChainIndexStorage(db);
    const indexer = new ChainIndexer({ client: countingClient(calls), storage: index, deployment });
    await indexer.sync();

    calls.length = 0;
    await indexer.sync();
    await indexer.sync();
    expect(calls).toEqual(['eth_getBlockByNumber', 'eth_getBlockByNumber']);

    // One block (automine) with one event.
    await attest();
    calls.length = 0;
    await indexer.sync();
    expect(calls).toEqual(['eth_getBlockByNumber', 'eth_getLogs']);
    expect(await index.practitioners()).toHaveLength(1);

    // Three blocks at once: the full path.
    await attest();
    await anvil.testClient.mine({ blocks: 2 });
    await indexer.sync();
    expect(await index.practitioners()).toHaveLength(2);

    // A fork at the same height: the block with the third attestation is replaced by an empty one.
    const snapshot = await anvil.testClient.snapshot();
    await attest();
    await indexer.sync();
    expect(await index.practitioners()).toHaveLength(3);
    await anvil.testClient.revert({ id: snapshot });
    await anvil.testClient.mine({ blocks: 1 });
    await indexer.sync();
    expect(await index.practitioners()).toHaveLength(2);
    expect((await indexer.status()).reorgs).toBe(1);

    // One block on top of a forked-away cursor: its parent is not the cursor, so the fork is found.
    const again = await anvil.testClient.snapshot();
    await attest();
    await indexer.sync();
    await anvil.testClient.revert({ id: again });
    await anvil.testClient.mine({ blocks: 2 });
    await indexer.sync();
    expect(await index.practitioners()).toHaveLength(2);
    expect((await indexer.status()).reorgs).toBe(2);

    // The same index as a fresh indexer's that reads every block through the full path.
    const fresh = new SqliteChainIndexStorage(
      openDatabase(join(dir, 'fresh.db'), [...outboxMigrations, ...chainIndexMigrations]),
    );
    await new ChainIndexer({ client: anvil.publicClient as PublicClient, storage: fresh, deployment }).sync();
    expect(await index.cursor()).toEqual(await fresh.cursor());
    expect(await index.eventCount()).toBe(await fresh.eventCount());
    expect(await index.practitioners()).toEqual(await fresh.practitioners());
    expect(await index.members()).toEqual(await fresh.members());

    await indexer.stop();
    db.close();
  });
});
