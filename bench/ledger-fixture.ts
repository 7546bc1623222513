/**
 * A running consortium ledger for the chain and consent benchmarks: an EmbeddedChain (interval mining,
 * 1 s blocks) in a temporary folder, the contracts deployed through the durable outbox exactly as
 * test/ledger/outbox-and-sync.int.test.ts does, with the outbox account as the single genesis member.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, defineChain, http, type PublicClient } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { EmbeddedChain } from '../src/chain/index.js';
import { ConsortiumLedger, type Deployment, deployContracts, Outbox } from '../src/ledger/index.js';
import { openDatabase, type SqliteDatabase } from '../src/storage/sqlite/open-database.js';
import { chainIndexMigrations } from '../src/storage/sqlite/sqlite-chain-index-storage.js';
import { outboxMigrations, SqliteOutboxStorage } from '../src/storage/sqlite/sqlite-outbox-storage.js';
import { findFreePort } from '../test/support/free-port.js';
import type { GroupContext } from './types.js';

export const CHAIN_ID = 31337;
export const BLOCK_TIME_SECONDS = 1;

export interface LedgerFixture {
  readonly dir: string;
  readonly chainDir: string;
  chain: EmbeddedChain;
  client: PublicClient;
  readonly db: SqliteDatabase;
  readonly account: PrivateKeyAccount;
  readonly outbox: Outbox;
  readonly ledger: ConsortiumLedger;
  readonly deployment: Deployment;
  /** Stops whatever is running and deletes the temporary folder; safe to call twice. */
  close(): Promise<void>;
}

export function createClient(rpcUrl: string): PublicClient {
  const chain = defineChain({
    id: CHAIN_ID,
    name: 'careledger-bench',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  return createPublicClient({ chain, transport: http(rpcUrl, { retryCount: 0 }), pollingInterval: 100 });
}

export async function startChain(chainDir: string): Promise<EmbeddedChain> {
  const chain = new EmbeddedChain({
    dir: chainDir,
    port: await findFreePort(),
    blockTimeSeconds: BLOCK_TIME_SECONDS,
    // Snapshots only when the benchmark asks, so none lands in the middle of a measurement.
    snapshotIntervalMs: 3_600_000,
    restartOnCrash: false,
  });
  await chain.start();
  return chain;
}

export async function startLedger(ctx: GroupContext, name: string): Promise<LedgerFixture> {
  const dir = mkdtempSync(join(tmpdir(), `careledger-bench-${name}-`));
  const chainDir = join(dir, 'chain');
  let chain: EmbeddedChain | undefined;
  let outbox: Outbox | undefined;
  let db: SqliteDatabase | undefined;
  let closed = false;
  // `fixture.chain` may be replaced (restart benchmark); close whatever is current.
  let current: () => EmbeddedChain | undefined = () => chain;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    try {
      await outbox?.stop();
    } finally {
      try {
        await current()?.stop();
      } finally {
        if (db?.open) db.close();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  };
  const release = ctx.onInterrupt(close);
  try {
    ctx.progress(`${name}: starting anvil and deploying the contracts through the outbox`);
    chain = await startChain(chainDir);
    const client = createClient(chain.rpcUrl);
    db = openDatabase(join(dir, 'node.db'), [...outboxMigrations, ...chainIndexMigrations]);
    const account = privateKeyToAccount(generatePrivateKey());
    outbox = new Outbox({ storage: new SqliteOutboxStorage(db), account, client, chainId: CHAIN_ID });
    outbox.start(100);
    const deployment = await deployContracts(
      outbox,
      {
        members: [
          {
            account: account.address,
            name: 'Bench Hospital',
            role: 'provider',
            fhirBaseUrl: 'http://127.0.0.1:1/fhir',
            logOrigin: 'bench.careledger.example/log',
            logVerifierKey: 'bench.careledger.example/log+00000000+AQ==',
            encryptionPublicKey: '0x01',
          },
        ],
        threshold: 1,
      },
      CHAIN_ID,
    );
    const fixture: LedgerFixture = {
      dir,
      chainDir,
      chain,
      client,
      db,
      account,
      outbox,
      ledger: new ConsortiumLedger(deployment, outbox),
      deployment,
      close: async () => {
        release();
        await close();
      },
    };
    current = () => fixture.chain;
    return fixture;
  } catch (error) {
    release();
    await close();
    throw error;
  }
}
