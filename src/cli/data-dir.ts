import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CareLedgerError } from '../errors/index.js';

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
    throw new CareLedgerError(
      'ERR_CONFIG',
      'no chain RPC URL: pass --rpc-url or set CARELEDGER_CHAIN_RPC_URL',
    );
  return rpcUrl;
}
