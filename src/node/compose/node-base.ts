import { resolve } from 'node:path';
import { createChainClient } from '../../chain/index.js';
import { CareLedgerError } from '../../errors/index.js';
import { loadFhirProfiles } from '../../fhir/load-fhir-definitions.js';
import { isLoopbackHost } from '../../http/remote-address.js';
import { loadDeployment } from '../../ledger/index.js';
import { checkChainAtStart } from '../../network/verify-deployment.js';
import { shareMigrations } from '../../share/index.js';
import { DATABASE_URL_ENV, openNodeStorage } from '../../storage/open-node-storage.js';
import { isPostgresUrl } from '../../storage/postgres/postgres-database.js';
import { openDatabase, type SqliteDatabase } from '../../storage/sqlite/open-database.js';
import { authMigrations } from '../../storage/sqlite/sqlite-auth-store.js';
import { breakGlassMigrations } from '../../storage/sqlite/sqlite-break-glass-store.js';
import { chainIndexMigrations } from '../../storage/sqlite/sqlite-chain-index-storage.js';
import { claimLeaseMigrations } from '../../storage/sqlite/sqlite-claim-lease-store.js';
import { consentOpeningMigrations } from '../../storage/sqlite/sqlite-consent-opening-store.js';
import { exportJobMigrations } from '../../storage/sqlite/sqlite-export-job-storage.js';
import { kRoundMigrations } from '../../storage/sqlite/sqlite-k-round-storage.js';
import { keyStoreMigrations } from '../../storage/sqlite/sqlite-key-store.js';
import { ledgerKeyChallengeMigrations } from '../../storage/sqlite/sqlite-ledger-key-challenge-store.js';
import { logMigrations } from '../../storage/sqlite/sqlite-log-storage.js';
import { memberStateMigrations } from '../../storage/sqlite/sqlite-member-state-store.js';
import { openingDeliveryMigrations } from '../../storage/sqlite/sqlite-opening-delivery-store.js';
import { outboxMigrations } from '../../storage/sqlite/sqlite-outbox-storage.js';
import { recordMigrations } from '../../storage/sqlite/sqlite-record-storage.js';
import { releaseRecordMigrations } from '../../storage/sqlite/sqlite-release-record-storage.js';
import { supplyMigrations } from '../../supply/index.js';
import {
  createMemberSecrets,
  snapshotMemberSecretFiles,
  verifyMemberSecretFiles,
} from '../member-secrets.js';
import { loadNodeConfig, nodePaths } from '../node-config.js';
import {
  loadOrCreateAdminToken,
  loadOrCreateLedgerKey,
  loadOrCreateLogSignerKey,
  restrictFileModes,
} from '../node-keys.js';
import { openMemberNotifications } from '../workers/member-notifications.js';
import { startPostgresNodeBroadcast } from '../workers/postgres-node-broadcast.js';
import type { StartNodeOptions } from './start-node-options.js';

/** The SQLite migrations of every store of the node (a new store adds its own here). */
const NODE_MIGRATIONS = [
  ...outboxMigrations,
  ...chainIndexMigrations,
  ...consentOpeningMigrations,
  ...openingDeliveryMigrations,
  ...logMigrations,
  ...keyStoreMigrations,
  ...recordMigrations,
  ...exportJobMigrations,
  ...breakGlassMigrations,
  ...authMigrations,
  ...ledgerKeyChallengeMigrations,
  ...supplyMigrations,
  ...claimLeaseMigrations,
  ...shareMigrations,
  ...memberStateMigrations,
  ...releaseRecordMigrations,
  ...kRoundMigrations,
];

/**
 * What every duty of a node is wired from: its configuration, the chain it checked, its keys, its
 * stores and (on PostgreSQL) the broadcast its processes share.
 */
export async function openNodeBase(dir: string, options: StartNodeOptions, log: (line: string) => void) {
  const stored = loadNodeConfig(dir);
  const config = options.host === undefined ? stored : { ...stored, host: options.host };
  /** The node's log lines, prefixed with its name. */
  const say = (line: string) => log(`[${config.name}] ${line}`);
  const paths = nodePaths(dir);
  for (const folder of config.fhir?.profileFolders ?? []) {
    const loaded = loadFhirProfiles(resolve(dir, folder));
    say(`FHIR profiles: ${loaded.length} StructureDefinition(s) from ${folder}`);
  }
  if (config.devIdentityHeader === true) {
    // The header trusts the caller's word for who they are: never reachable from another machine.
    if (!isLoopbackHost(config.host)) {
      throw new CareLedgerError(
        'ERR_CONFIG',
        `devIdentityHeader is on, so the node binds to loopback only; host ${config.host} is not (turn devIdentityHeader off to serve a network)`,
      );
    }
    say(
      'WARNING: DEVELOPMENT IDENTITY HEADER ON: any local process can act as any user (X-CareLedger-Identity); loopback only; never in production',
    );
  }
  const deployment = loadDeployment(config.deploymentFile);
  // Issue 17 item 4: never run against a chain whose id or contract code differs from the record.
  await checkChainAtStart(
    createChainClient(config.chain.rpcUrl, config.chain.chainId),
    deployment,
    config.chain.chainId,
    say,
  );
  // Decision 0033: which secret files this host had before this start created any.
  const secretFilesAtStart = snapshotMemberSecretFiles(dir);
  const account = loadOrCreateLedgerKey(paths.ledgerKey);
  const logKey = loadOrCreateLogSignerKey(paths.logSignerKey, config.logOrigin);
  const adminToken = loadOrCreateAdminToken(paths.adminToken);
  // Owner-only files: database (and so its WAL), keystore, keys (issue 14, item 11).
  restrictFileModes(dir, paths.database);
  const db: SqliteDatabase = openDatabase(paths.database, NODE_MIGRATIONS, { refuseNewer: true });
  // Issue 17 item 1: CARELEDGER_DATABASE_URL=postgres://... moves the node's stores to PostgreSQL.
  const databaseUrl = options.databaseUrl ?? process.env[DATABASE_URL_ENV];
  const stores = await openNodeStorage({ sqlite: db, databaseUrl, log: say });
  // Decision 0033: this host's secrets must be the member's (fingerprints in its database), checked
  // before anything signs, sends or serves; the vault's root secret once the vault is open. A
  // member's worker on SQLite shares its primary's folder, which the primary checked.
  if (options.worker === undefined)
    try {
      createMemberSecrets(dir, config.role);
      const { recorded } = await verifyMemberSecretFiles({
        dir,
        existedAtStart: secretFilesAtStart,
        store: stores.secretFingerprints,
      });
      if (recorded.length > 0)
        say(`secrets: fingerprints recorded in the member's database: ${recorded.join(', ')}`);
    } catch (error) {
      await stores.close();
      db.close();
      throw error;
    }
  // Decision 0026: processes of one member that share only its PostgreSQL database, on this machine or
  // others, tell each other what their caches must drop through it (node:cluster workers through IPC).
  const notifications =
    stores.kind === 'postgres' && options.worker === undefined && isPostgresUrl(databaseUrl)
      ? openMemberNotifications(databaseUrl)
      : undefined;
  const sharedBroadcast =
    notifications !== undefined && options.primary === undefined
      ? startPostgresNodeBroadcast({ notifications, log: say })
      : undefined;
  const memberBroadcast = options.worker?.broadcast ?? options.primary?.broadcast ?? sharedBroadcast;
  const client = createChainClient(config.chain.rpcUrl, config.chain.chainId);
  return {
    dir,
    config,
    paths,
    say,
    deployment,
    account,
    logKey,
    adminToken,
    db,
    databaseUrl,
    stores,
    secretFilesAtStart,
    notifications,
    sharedBroadcast,
    memberBroadcast,
    client,
  };
}

export type NodeBase = Awaited<ReturnType<typeof openNodeBase>>;
