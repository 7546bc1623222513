import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CareLedgerError } from '../errors/index.js';
import { isMemberRole, type MemberRole } from '../ledger/index.js';
import { writeFileDurably } from '../storage/write-file-durably.js';

/** A member node's settings, kept as `node.json` in the node's folder beside its keys and database. */
export interface NodeConfig {
  readonly name: string;
  /** Display name of the organization, published on the ledger. */
  readonly organization: string;
  readonly role: MemberRole;
  readonly host: string;
  readonly port: number;
  /** Public base URL of this node (what other members call). */
  readonly publicUrl: string;
  /** The log origin (C2SP tlog-checkpoint first line), unique in the consortium. */
  readonly logOrigin: string;
  readonly chain: { readonly rpcUrl: string; readonly chainId: number };
  /** Path of the deployment record (contract addresses). */
  readonly deploymentFile: string;
  /** Transparency log policy; defaults: majority of the other members as witnesses, anchor every 10 s. */
  readonly log?: { readonly witnessQuorum?: number; readonly anchorIntervalMs?: number };
  /**
   * Accept the development identity header (`X-CareLedger-Identity`) on the FHIR API. Off unless set:
   * it trusts the client's word for who it is, so it is for demos and tests only.
   */
  readonly devIdentityHeader?: boolean;
  /** Break-glass and other notifications are also POSTed here (JSON, no PHI), if set. */
  readonly notifications?: { readonly webhookUrl?: string };
}

export interface NodePaths {
  readonly dir: string;
  readonly config: string;
  readonly database: string;
  readonly ledgerKey: string;
  readonly logSignerKey: string;
  readonly adminToken: string;
  readonly tokenSigningKey: string;
}

export function nodePaths(dir: string): NodePaths {
  return {
    dir,
    config: join(dir, 'node.json'),
    database: join(dir, 'node.db'),
    ledgerKey: join(dir, 'ledger.key'),
    logSignerKey: join(dir, 'log-signer.key'),
    adminToken: join(dir, 'admin.token'),
    tokenSigningKey: join(dir, 'token-signing.jwk.json'),
  };
}

export function saveNodeConfig(dir: string, config: NodeConfig): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileDurably(nodePaths(dir).config, `${JSON.stringify(config, null, 2)}\n`);
}

export function loadNodeConfig(dir: string): NodeConfig {
  const path = nodePaths(dir).config;
  if (!existsSync(path)) throw new CareLedgerError('ERR_CONFIG', `no node configuration at ${path}`);
  let config: NodeConfig;
  try {
    config = JSON.parse(readFileSync(path, 'utf8')) as NodeConfig;
  } catch (cause) {
    throw new CareLedgerError('ERR_CONFIG', `${path} is not valid JSON`, { cause });
  }
  for (const key of ['name', 'organization', 'host', 'publicUrl', 'logOrigin', 'deploymentFile'] as const) {
    if (typeof config[key] !== 'string' || config[key] === '') {
      throw new CareLedgerError('ERR_CONFIG', `${path}: ${key} is missing`);
    }
  }
  if (!isMemberRole(config.role)) throw new CareLedgerError('ERR_CONFIG', `${path}: unknown role`);
  if (!Number.isInteger(config.port)) throw new CareLedgerError('ERR_CONFIG', `${path}: port is missing`);
  // Production overrides, so one node.json works against any chain (docs/deploy/besu-qbft.md).
  const rpcUrl = process.env.CARELEDGER_CHAIN_RPC_URL;
  return rpcUrl === undefined || rpcUrl === '' ? config : { ...config, chain: { ...config.chain, rpcUrl } };
}
