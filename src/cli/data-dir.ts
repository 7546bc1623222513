import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CareLedgerError } from '../errors/index.js';
import { UsageError } from './exit-codes.js';

/** All of a consortium's state lives under one folder, so it can be backed up, moved or deleted. */
export function resolveDataDir(option: string | undefined): string {
  return resolve(option ?? process.env.CARELEDGER_DATA_DIR ?? '.careledger');
}

export function chainDir(dataDir: string): string {
  return join(dataDir, 'chain');
}

export function deploymentFile(dataDir: string): string {
  return join(chainDir(dataDir), 'deployment.json');
}

export function chainInfoFile(dataDir: string): string {
  return join(chainDir(dataDir), 'chain.json');
}

export function nodeDir(dataDir: string, name: string): string {
  return join(dataDir, 'nodes', name);
}

export function runFile(dataDir: string): string {
  return join(dataDir, 'run', 'dev.json');
}

/** The chain RPC URL: the option, else CARELEDGER_CHAIN_RPC_URL, else the demo chain's chain.json. */
export function resolveRpcUrl(dataDir: string, option?: string): string {
  let rpcUrl = option ?? process.env.CARELEDGER_CHAIN_RPC_URL;
  if ((rpcUrl === undefined || rpcUrl === '') && existsSync(chainInfoFile(dataDir))) {
    try {
      rpcUrl = (JSON.parse(readFileSync(chainInfoFile(dataDir), 'utf8')) as { rpcUrl?: string }).rpcUrl;
    } catch (cause) {
      throw new CareLedgerError('ERR_CONFIG', `${chainInfoFile(dataDir)} is not valid JSON`, { cause });
    }
  }
  if (rpcUrl === undefined || rpcUrl === '')
    throw new UsageError(
      `no chain RPC URL and no demo chain at ${dataDir}: add --rpc-url <url> (or set $CARELEDGER_CHAIN_RPC_URL)`,
    );
  return rpcUrl;
}

/** The demo consortium's first member, the one commands talk to when no --node is given. */
export const DEMO_HOME_NODE = 'hospital';

/**
 * A member node's base URL: `--node` as a URL, or as the name of a node folder under the data dir
 * (`lab`), else the demo's hospital when a demo data folder is there. Without either, a UsageError
 * (exit 64) that says what to add.
 */
export function resolveNodeUrl(dataDir: string, option: string | undefined): string {
  if (option !== undefined && /^https?:\/\//.test(option)) return option.replace(/\/+$/, '');
  const name = option ?? DEMO_HOME_NODE;
  const file = join(nodeDir(dataDir, name), 'node.json');
  if (!existsSync(file)) {
    throw new UsageError(
      option === undefined
        ? `no demo data folder at ${dataDir}: add --node <url> (e.g. --node http://127.0.0.1:8701), or start the demo with \`npm start\``
        : `--node ${option}: not a URL and no node folder ${nodeDir(dataDir, name)}; give --node http://…`,
    );
  }
  let publicUrl: unknown;
  try {
    publicUrl = (JSON.parse(readFileSync(file, 'utf8')) as { publicUrl?: unknown }).publicUrl;
  } catch (cause) {
    throw new CareLedgerError('ERR_CONFIG', `${file} is not valid JSON`, { cause });
  }
  if (typeof publicUrl !== 'string')
    throw new CareLedgerError('ERR_CONFIG', `${file} has no publicUrl; give --node <url>`);
  return publicUrl.replace(/\/+$/, '');
}
