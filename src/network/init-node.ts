import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CareLedgerError } from '../errors/index.js';
import { type GenesisMember, isMemberRole, loadDeployment, type MemberRole } from '../ledger/index.js';
import { type NodeConfig, nodePaths, saveNodeConfig } from '../node/node-config.js';
import {
  loadOrCreateAdminToken,
  loadOrCreateLedgerKey,
  loadOrCreateLogSignerKey,
  loadOrCreateTokenSigningKey,
  restrictFileModes,
} from '../node/node-keys.js';
import { writeFileDurably } from '../storage/write-file-durably.js';
import { readChainId } from './deploy-consortium.js';

export interface InitNodeOptions {
  readonly dir: string;
  readonly name: string;
  readonly organization: string;
  readonly role: string;
  readonly publicUrl: string;
  readonly chainRpc: string;
  /** Path of the deployment record; it may not exist yet (founding members init before the deploy). */
  readonly deploymentFile: string;
  /** PostgreSQL URL (H6's adapter reads CARELEDGER_DATABASE_URL); none = SQLite in the node folder. */
  readonly databaseUrl?: string;
  readonly host?: string;
  readonly port?: number;
  readonly chainId?: number;
  readonly logOrigin?: string;
  /** The keystore passphrase file (outside the node folder, 0600); without it, set CARELEDGER_KEYSTORE_PASSPHRASE. */
  readonly keystorePassphraseFile?: string;
}

export interface InitNodeResult {
  readonly config: NodeConfig;
  /** This member's entry for the consortium genesis or an admission proposal (no secrets). */
  readonly member: GenesisMember;
  readonly envFile: string;
}

/**
 * A production member node's folder: node.json, the member (ledger) key, the log signer key, the
 * operator token and the token signing key (each 0600, the folder 0700), and `careledger.env` for the
 * service manager. The member key stays here; only the returned member entry is shared.
 */
export async function initNode(options: InitNodeOptions): Promise<InitNodeResult> {
  const dir = resolve(options.dir);
  const paths = nodePaths(dir);
  if (existsSync(paths.config))
    throw new CareLedgerError('ERR_CONFIG', `${paths.config} exists; this node is set up`);
  if (!isMemberRole(options.role))
    throw new CareLedgerError('ERR_INVALID_INPUT', `unknown role ${options.role}`);
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(options.name))
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the node name is lower-case letters, digits and dashes');
  let publicUrl: URL;
  try {
    publicUrl = new URL(options.publicUrl);
  } catch {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${options.publicUrl} is not a URL`);
  }
  const deploymentFile = resolve(options.deploymentFile);
  const chainId =
    options.chainId ??
    (existsSync(deploymentFile)
      ? loadDeployment(deploymentFile).chainId
      : await readChainId(options.chainRpc));
  const logOrigin = options.logOrigin ?? `${publicUrl.host}/log`;
  const config: NodeConfig = {
    name: options.name,
    organization: options.organization,
    role: options.role as MemberRole,
    host: options.host ?? '0.0.0.0',
    port: options.port ?? 8700,
    publicUrl: publicUrl.origin + publicUrl.pathname.replace(/\/+$/, ''),
    logOrigin,
    chain: { rpcUrl: options.chainRpc, chainId },
    deploymentFile,
    ...(options.keystorePassphraseFile === undefined
      ? {}
      : {
          vaultKeys: {
            provider: 'passphrase' as const,
            passphraseFile: resolve(options.keystorePassphraseFile),
          },
        }),
  };
  saveNodeConfig(dir, config);
  restrictFileModes(dir);
  const account = loadOrCreateLedgerKey(paths.ledgerKey);
  const { verifierKey } = loadOrCreateLogSignerKey(paths.logSignerKey, logOrigin);
  loadOrCreateAdminToken(paths.adminToken);
  loadOrCreateTokenSigningKey(paths.tokenSigningKey);
  const envFile = join(dir, 'careledger.env');
  writeFileDurably(
    envFile,
    [
      '# Read by the careledger service (systemd EnvironmentFile=); owner-only: it may hold a database password.',
      `CARELEDGER_CHAIN_RPC_URL=${options.chainRpc}`,
      ...(options.databaseUrl === undefined ? [] : [`CARELEDGER_DATABASE_URL=${options.databaseUrl}`]),
      '',
    ].join('\n'),
    0o600,
  );
  return {
    config,
    envFile,
    member: {
      account: account.address,
      name: options.organization,
      role: config.role,
      fhirBaseUrl: `${config.publicUrl}/fhir`,
      logOrigin,
      logVerifierKey: verifierKey,
      encryptionPublicKey: '0x',
    },
  };
}
