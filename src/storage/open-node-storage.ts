import type { BreakGlassSessions } from '../access/index.js';
import type { AuthStore } from '../auth/auth-store.js';
import type { ClaimLeaseStore } from '../claims/patient-claim-lease.js';
import type { BenefitPolicyStorage } from '../claims/policy-store.js';
import type { ConsentOpeningStore } from '../consent/consent-opening.js';
import type { OpeningDeliveryStore } from '../consent/opening-delivery-queue.js';
import type { LedgerKeyChallengeStore } from '../enrolment/ledger-key-challenge-store.js';
import { CareLedgerError } from '../errors/index.js';
import type { ExportFileStore } from '../export/export-file-store.js';
import type { ExportJobStorage } from '../export/export-job.js';
import type { OutboxStorage } from '../ledger/outbox-storage.js';
import type { ApplyCommitGroup, LogStorage } from '../log/log-storage.js';
import type { SecretFingerprintStore } from '../node/shared-secrets.js';
import type { StudyProtocolStorage } from '../research/ledger/study-protocol.js';
import type { KRoundStorage } from '../research/release/k-round-store.js';
import type { ReleaseRecordStorage } from '../research/release/release-record-store.js';
import { SqliteSupplyStore } from '../supply/storage/sqlite-supply-store.js';
import type { SupplyStore } from '../supply/storage/supply-store.js';
import type { ChainIndexStorage } from '../sync/index-storage.js';
import type { DataKeyStore } from '../vault/data-key-store.js';
import type { KeyProvider } from '../vault/key-provider.js';
import type { RecordStorage } from '../vault/record-storage.js';
import { PostgresAuthStore } from './postgres/postgres-auth-store.js';
import { PostgresBreakGlassStore } from './postgres/postgres-break-glass-store.js';
import { PostgresChainIndexStorage } from './postgres/postgres-chain-index-storage.js';
import { PostgresClaimLeaseStore } from './postgres/postgres-claim-lease-store.js';
import { applyVaultCommitGroupPostgres } from './postgres/postgres-commit-applier.js';
import {
  PostgresConsentOpeningStore,
  PostgresLedgerKeyChallengeStore,
} from './postgres/postgres-consent-stores.js';
import { isPostgresUrl, openPostgresDatabase } from './postgres/postgres-database.js';
import { PostgresExportFileStore } from './postgres/postgres-export-file-store.js';
import { PostgresExportJobStorage } from './postgres/postgres-export-job-storage.js';
import { PostgresKRoundStorage } from './postgres/postgres-k-round-storage.js';
import { createPostgresKeyStore } from './postgres/postgres-key-store.js';
import { PostgresLogStorage } from './postgres/postgres-log-storage.js';
import {
  PostgresBenefitPolicyStorage,
  PostgresSecretFingerprintStore,
} from './postgres/postgres-member-state-store.js';
import { migratePostgres, verifyDurableSettings } from './postgres/postgres-migrations.js';
import { PostgresOpeningDeliveryStore } from './postgres/postgres-opening-delivery-store.js';
import { PostgresOutboxStorage } from './postgres/postgres-outbox-storage.js';
import { PostgresRecordStorage } from './postgres/postgres-record-storage.js';
import {
  PostgresReleaseRecordStorage,
  PostgresStudyProtocolStorage,
} from './postgres/postgres-release-record-storage.js';
import { POSTGRES_MIGRATIONS } from './postgres/postgres-schema.js';
import { PostgresSupplyStore } from './postgres/postgres-supply-store.js';
import type { SqliteDatabase } from './sqlite/open-database.js';
import { SqliteAuthStore } from './sqlite/sqlite-auth-store.js';
import { SqliteBreakGlassStore } from './sqlite/sqlite-break-glass-store.js';
import { SqliteChainIndexStorage } from './sqlite/sqlite-chain-index-storage.js';
import { SqliteClaimLeaseStore } from './sqlite/sqlite-claim-lease-store.js';
import { createSqliteCommitApplier } from './sqlite/sqlite-commit-applier.js';
import { type OpeningSealer, SqliteConsentOpeningStore } from './sqlite/sqlite-consent-opening-store.js';
import { SqliteExportJobStorage } from './sqlite/sqlite-export-job-storage.js';
import { SqliteKRoundStorage } from './sqlite/sqlite-k-round-storage.js';
import { createSqliteKeyStore } from './sqlite/sqlite-key-store.js';
import { SqliteLedgerKeyChallengeStore } from './sqlite/sqlite-ledger-key-challenge-store.js';
import { SqliteLogStorage } from './sqlite/sqlite-log-storage.js';
import {
  SqliteBenefitPolicyStorage,
  SqliteSecretFingerprintStore,
} from './sqlite/sqlite-member-state-store.js';
import { SqliteOpeningDeliveryStore } from './sqlite/sqlite-opening-delivery-store.js';
import { SqliteOutboxStorage } from './sqlite/sqlite-outbox-storage.js';
import { SqliteRecordStorage } from './sqlite/sqlite-record-storage.js';
import {
  SqliteReleaseRecordStorage,
  SqliteStudyProtocolStorage,
} from './sqlite/sqlite-release-record-storage.js';

/** The environment variable that moves a node's stores to PostgreSQL (postgres://user@host/db). */
export const DATABASE_URL_ENV = 'CARELEDGER_DATABASE_URL';

/**
 * The stores of one node, on SQLite (the embedded default) or PostgreSQL. The SQLite database is
 * always opened and migrated, but on PostgreSQL none of these stores writes to it (decision 0015).
 */
export interface NodeStorage {
  readonly kind: 'sqlite' | 'postgres';
  readonly outbox: OutboxStorage;
  readonly chainIndex: ChainIndexStorage;
  readonly records: RecordStorage;
  readonly exportJobs: ExportJobStorage;
  readonly breakGlass: BreakGlassSessions;
  /** The transparency log's storage; it applies the vault's commit writes in its transaction. */
  readonly log: LogStorage;
  /** The data-key store; its tombstone key is derived from the key provider. */
  dataKeys(provider: Pick<KeyProvider, 'deriveSecret'>): Promise<DataKeyStore>;
  /** Consent openings (decision 0013), sealed with the node's vault key. */
  consentOpenings(sealer: OpeningSealer): ConsentOpeningStore;
  readonly keyChallenges: LedgerKeyChallengeStore;
  /** Accounts, OAuth clients, codes and tokens, sign-in throttling, notifications. */
  readonly auth: AuthStore;
  /** Consent openings owed to other members (decision 0013). */
  readonly openingDeliveries: OpeningDeliveryStore;
  /** A payer's per-patient claim leases, shared by the member's processes (decision 0019). */
  readonly claimLeases: ClaimLeaseStore;
  /** EPCIS events, dispensed packs, recalls handled, the chain cursor (decision 0023). */
  readonly supply: SupplyStore;
  /** Fingerprints of the secrets every host of the member must share (decision 0033). */
  readonly secretFingerprints: SecretFingerprintStore;
  /** A payer's published benefit policies (decision 0033). */
  readonly benefitPolicies: BenefitPolicyStorage;
  /** Study release records, shared by the member's hosts (decision 0035). */
  readonly researchReleases: ReleaseRecordStorage;
  /** The k rounds this member coordinates, kept across a restart (decision 0050). */
  readonly researchKRounds: KRoundStorage;
  /** Study protocol documents by hash (decision 0035). */
  readonly researchProtocols: StudyProtocolStorage;
  /** Bulk-export files in the database (PostgreSQL); undefined: the node folder's `exports/` (SQLite, one host). */
  readonly exportFiles?: ExportFileStore;
  close(): Promise<void>;
}

export interface OpenNodeStorageOptions {
  /** The node's SQLite database, opened and migrated by the caller. */
  readonly sqlite: SqliteDatabase;
  /** CARELEDGER_DATABASE_URL; unset or empty keeps every store in SQLite. */
  readonly databaseUrl?: string;
  readonly log?: (line: string) => void;
}

function sqliteStorage(db: SqliteDatabase): NodeStorage {
  const breakGlass = new SqliteBreakGlassStore(db);
  const applyCommitGroup: ApplyCommitGroup = createSqliteCommitApplier(db, { breakGlass });
  return {
    kind: 'sqlite',
    outbox: new SqliteOutboxStorage(db),
    chainIndex: new SqliteChainIndexStorage(db),
    records: new SqliteRecordStorage(db),
    exportJobs: new SqliteExportJobStorage(db),
    breakGlass,
    log: new SqliteLogStorage(db, { applyCommitGroup }),
    dataKeys: (provider) => createSqliteKeyStore(db, provider),
    consentOpenings: (sealer) => new SqliteConsentOpeningStore(db, sealer),
    keyChallenges: new SqliteLedgerKeyChallengeStore(db),
    auth: new SqliteAuthStore(db),
    openingDeliveries: new SqliteOpeningDeliveryStore(db),
    claimLeases: new SqliteClaimLeaseStore(db),
    supply: new SqliteSupplyStore(db),
    secretFingerprints: new SqliteSecretFingerprintStore(db),
    benefitPolicies: new SqliteBenefitPolicyStorage(db),
    researchReleases: new SqliteReleaseRecordStorage(db),
    researchKRounds: new SqliteKRoundStorage(db),
    researchProtocols: new SqliteStudyProtocolStorage(db),
    close: async () => undefined,
  };
}

/**
 * Opens the node's stores. On PostgreSQL: checks the server cannot lose an acknowledged commit, runs
 * the schema migrations (refusing a schema newer than this node), and fails start-up with the reason
 * when the server cannot be reached.
 */
export async function openNodeStorage(options: OpenNodeStorageOptions): Promise<NodeStorage> {
  const url = options.databaseUrl;
  if (url === undefined || url === '') return sqliteStorage(options.sqlite);
  if (!isPostgresUrl(url)) {
    throw new CareLedgerError('ERR_CONFIG', `${DATABASE_URL_ENV} must be a postgres:// URL`, {
      details: { reason: 'database-url' },
    });
  }
  const log = options.log ?? (() => undefined);
  const db = openPostgresDatabase(url, {
    onIdleError: (error) =>
      log(`storage: an idle PostgreSQL connection broke (${error.message}); reconnecting on demand`),
  });
  try {
    await verifyDurableSettings(db);
    const migrated = await migratePostgres(db, POSTGRES_MIGRATIONS);
    if (migrated.from !== migrated.to)
      log(`storage: PostgreSQL schema migrated from version ${migrated.from} to ${migrated.to}`);
  } catch (error) {
    await db.close();
    throw error;
  }
  log(
    'storage: records, keys, log, outbox, chain index, export jobs, break-glass, consent openings and deliveries, key challenges, accounts, OAuth clients and tokens, sign-in throttling, notifications, claim leases, the supply chain, secret fingerprints, benefit policies and bulk-export files on PostgreSQL',
  );
  return {
    kind: 'postgres',
    outbox: new PostgresOutboxStorage(db),
    chainIndex: new PostgresChainIndexStorage(db),
    records: new PostgresRecordStorage(db),
    exportJobs: new PostgresExportJobStorage(db),
    breakGlass: new PostgresBreakGlassStore(db),
    log: new PostgresLogStorage(db, { applyCommitGroup: applyVaultCommitGroupPostgres }),
    dataKeys: (provider) => createPostgresKeyStore(db, provider),
    consentOpenings: (sealer) => new PostgresConsentOpeningStore(db, sealer),
    keyChallenges: new PostgresLedgerKeyChallengeStore(db),
    auth: new PostgresAuthStore(db),
    openingDeliveries: new PostgresOpeningDeliveryStore(db),
    claimLeases: new PostgresClaimLeaseStore(db),
    supply: new PostgresSupplyStore(db),
    secretFingerprints: new PostgresSecretFingerprintStore(db),
    benefitPolicies: new PostgresBenefitPolicyStorage(db),
    researchReleases: new PostgresReleaseRecordStorage(db),
    researchKRounds: new PostgresKRoundStorage(db),
    researchProtocols: new PostgresStudyProtocolStorage(db),
    exportFiles: new PostgresExportFileStore(db),
    close: () => db.close(),
  };
}
