import { existsSync } from 'node:fs';
import { createChainClient } from '../chain/index.js';
import { callRpc } from '../chain/rpc.js';
import { CareLedgerError } from '../errors/index.js';
import { type Deployment, deployContracts, Outbox, saveDeployment } from '../ledger/index.js';
import { openDatabase } from '../storage/sqlite/open-database.js';
import { outboxMigrations, SqliteOutboxStorage } from '../storage/sqlite/sqlite-outbox-storage.js';
import type { ConsortiumGenesis } from './consortium-genesis.js';
import { loadAccountKeyFile } from './member-key-file.js';
import { readCodeHashes } from './verify-deployment.js';

export interface DeployConsortiumOptions {
  readonly rpcUrl: string;
  readonly keyFile: string;
  readonly genesis: ConsortiumGenesis;
  /** Where the deployment record goes; its signed transactions are kept beside it (`.outbox.db`). */
  readonly out: string;
  /** If given, the chain must answer with this id. */
  readonly chainId?: number;
  readonly log?: (line: string) => void;
}

/** The chain id an RPC endpoint answers with (eth_chainId, standard on every EVM client). */
export async function readChainId(rpcUrl: string): Promise<number> {
  const hex = await callRpc<string>(rpcUrl, 'eth_chainId', [], 10_000);
  const id = Number.parseInt(hex, 16);
  if (!Number.isSafeInteger(id))
    throw new CareLedgerError('ERR_CHAIN_UNAVAILABLE', `${rpcUrl} gave no chain id`);
  return id;
}

/**
 * Deploys the consortium's contracts once, on any EVM chain, through a durable outbox kept beside the
 * record (what was signed is stored before it is sent, and re-sent while the command runs). Records
 * each contract's code hash, which every node checks at start. A run that failed leaves no record;
 * running again deploys a fresh set (the contracts have no owner, so a stray set is inert).
 */
export async function deployConsortium(options: DeployConsortiumOptions): Promise<Deployment> {
  if (existsSync(options.out))
    throw new CareLedgerError('ERR_CONFIG', `${options.out} exists: the contracts are already deployed`);
  const account = loadAccountKeyFile(options.keyFile, 'deployer key');
  const chainId = await readChainId(options.rpcUrl);
  if (options.chainId !== undefined && options.chainId !== chainId)
    throw new CareLedgerError(
      'ERR_CONFIG',
      `the chain answers with chain id ${chainId}, not ${options.chainId}`,
    );
  const client = createChainClient(options.rpcUrl, chainId, { timeoutMs: 30_000 });
  const db = openDatabase(`${options.out}.outbox.db`, outboxMigrations);
  const outbox = new Outbox({
    storage: new SqliteOutboxStorage(db),
    account,
    client,
    chainId,
    onLog: options.log ?? (() => undefined),
  });
  try {
    outbox.start(500);
    await outbox.pump();
    const deployment = await deployContracts(outbox, options.genesis, chainId);
    const codeHashes = await readCodeHashes(client, deployment.contracts);
    const record: Deployment = { ...deployment, codeHashes };
    saveDeployment(options.out, record);
    return record;
  } finally {
    await outbox.stop();
    db.close();
  }
}
