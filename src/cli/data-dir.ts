import { join, resolve } from 'node:path';

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
