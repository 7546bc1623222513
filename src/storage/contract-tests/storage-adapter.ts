import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BreakGlassSessions } from '../../access/index.js';
import type { AuthStore } from '../../auth/auth-store.js';
import type { BenefitPolicyStorage } from '../../claims/policy-store.js';
import type { ConsentOpeningStore } from '../../consent/consent-opening.js';
import type { OpeningDeliveryStore } from '../../consent/opening-delivery-queue.js';
import type { LedgerKeyChallengeStore } from '../../enrolment/ledger-key-challenge-store.js';
import { createFolderExportFileStore, type ExportFileStore } from '../../export/export-file-store.js';
import type { ExportJobStorage } from '../../export/export-job.js';
import type { OutboxStorage } from '../../ledger/outbox-storage.js';
import type { CommitGroup, LogStorage } from '../../log/log-storage.js';
import type { SecretFingerprintStore } from '../../node/shared-secrets.js';
import { SqliteSupplyStore, supplyMigrations } from '../../supply/storage/sqlite-supply-store.js';
import type { SupplyStore } from '../../supply/storage/supply-store.js';
import type { ChainIndexStorage } from '../../sync/index-storage.js';
import { applyVaultCommitGroup } from '../../vault/commit-writes.js';
import type { DataKeyStore } from '../../vault/data-key-store.js';
import type { RecordStorage } from '../../vault/record-storage.js';
import { PostgresAuthStore } from '../postgres/postgres-auth-store.js';
import { PostgresBreakGlassStore } from '../postgres/postgres-break-glass-store.js';
import { PostgresChainIndexStorage } from '../postgres/postgres-chain-index-storage.js';
import { applyVaultCommitGroupPostgres } from '../postgres/postgres-commit-applier.js';
import {
  PostgresConsentOpeningStore,
  PostgresLedgerKeyChallengeStore,
} from '../postgres/postgres-consent-stores.js';
import { openPostgresDatabase, type PostgresDatabase } from '../postgres/postgres-database.js';
import { PostgresExportFileStore } from '../postgres/postgres-export-file-store.js';
import { PostgresExportJobStorage } from '../postgres/postgres-export-job-storage.js';
import { PostgresKeyStore } from '../postgres/postgres-key-store.js';
import { PostgresLogStorage } from '../postgres/postgres-log-storage.js';
import {
  PostgresBenefitPolicyStorage,
  PostgresSecretFingerprintStore,
} from '../postgres/postgres-member-state-store.js';
import { migratePostgres } from '../postgres/postgres-migrations.js';
import { PostgresOpeningDeliveryStore } from '../postgres/postgres-opening-delivery-store.js';
import { PostgresOutboxStorage } from '../postgres/postgres-outbox-storage.js';
import { PostgresRecordStorage } from '../postgres/postgres-record-storage.js';
import { POSTGRES_MIGRATIONS } from '../postgres/postgres-schema.js';
import { PostgresSupplyStore } from '../postgres/postgres-supply-store.js';
import { openDatabase, type SqliteDatabase } from '../sqlite/open-database.js';
import { authMigrations, SqliteAuthStore } from '../sqlite/sqlite-auth-store.js';
import { breakGlassMigrations, SqliteBreakGlassStore } from '../sqlite/sqlite-break-glass-store.js';
import { chainIndexMigrations, SqliteChainIndexStorage } from '../sqlite/sqlite-chain-index-storage.js';
import {
  consentOpeningMigrations,
  type OpeningSealer,
  SqliteConsentOpeningStore,
} from '../sqlite/sqlite-consent-opening-store.js';
import { exportJobMigrations, SqliteExportJobStorage } from '../sqlite/sqlite-export-job-storage.js';
import { keyStoreMigrations, SqliteKeyStore } from '../sqlite/sqlite-key-store.js';
import {
  ledgerKeyChallengeMigrations,
  SqliteLedgerKeyChallengeStore,
} from '../sqlite/sqlite-ledger-key-challenge-store.js';
import { logMigrations, SqliteLogStorage } from '../sqlite/sqlite-log-storage.js';
import {
  memberStateMigrations,
  SqliteBenefitPolicyStorage,
  SqliteSecretFingerprintStore,
} from '../sqlite/sqlite-member-state-store.js';
import {
  openingDeliveryMigrations,
  SqliteOpeningDeliveryStore,
} from '../sqlite/sqlite-opening-delivery-store.js';
import { outboxMigrations, SqliteOutboxStorage } from '../sqlite/sqlite-outbox-storage.js';
import { recordMigrations, SqliteRecordStorage } from '../sqlite/sqlite-record-storage.js';

/**
 * One freshly created, empty set of a node's stores on one adapter. The contract tests
 * (src/storage/contract-tests/*-contract.ts) run the same expectations against each.
 */
export interface StorageUnderTest {
  readonly outbox: OutboxStorage;
  readonly exportJobs: ExportJobStorage;
  readonly chainIndex: ChainIndexStorage;
  /** A log storage whose commit writes are recorded in `applied` (a test's stand-in for the vault). */
  log(options?: { failOnKind?: string }): LogStorage;
  /** The commit groups applied so far, in order. */
  readonly applied: CommitGroup[];
  /** A log storage that applies the vault's commit writes (records, erasure, break-glass). */
  vaultLog(): LogStorage;
  readonly records: RecordStorage;
  readonly breakGlass: BreakGlassSessions;
  /** Data keys with this tombstone key and clock. */
  dataKeys(options: { tombstoneKey: Uint8Array; now: () => number }): DataKeyStore;
  consentOpenings(sealer: OpeningSealer, now: () => number): ConsentOpeningStore;
  readonly keyChallenges: LedgerKeyChallengeStore;
  readonly auth: AuthStore;
  /** The same auth tables through another connection, as another node process sees them (races). */
  otherAuth(): AuthStore;
  readonly openingDeliveries: OpeningDeliveryStore;
  readonly supply: SupplyStore;
  /** The same supply tables through another connection, as another node process sees them (races). */
  otherSupply(): SupplyStore;
  /** Secret fingerprints, benefit policies, export files (decision 0033). */
  readonly memberState: MemberStateStores;
  /** The same, through another connection: another host of the member. */
  otherMemberState(): MemberStateStores;
  close(): Promise<void>;
}

export interface MemberStateStores {
  readonly secretFingerprints: SecretFingerprintStore;
  readonly benefitPolicies: BenefitPolicyStorage;
  readonly exportFiles: ExportFileStore;
}

export interface StorageAdapter {
  readonly name: 'sqlite' | 'postgres';
  open(): Promise<StorageUnderTest>;
}

function failing(kind: string | undefined, group: CommitGroup): void {
  if (kind !== undefined && group.writes.some((w) => w.kind === kind)) throw new Error(`refused ${kind}`);
}

export function sqliteAdapter(): StorageAdapter {
  return {
    name: 'sqlite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'careledger-contract-'));
      const db: SqliteDatabase = openDatabase(join(dir, 'node.db'), [
        ...outboxMigrations,
        ...chainIndexMigrations,
        ...logMigrations,
        ...keyStoreMigrations,
        ...recordMigrations,
        ...exportJobMigrations,
        ...breakGlassMigrations,
        ...consentOpeningMigrations,
        ...ledgerKeyChallengeMigrations,
        ...authMigrations,
        ...openingDeliveryMigrations,
        ...supplyMigrations,
        ...memberStateMigrations,
      ]);
      const others: SqliteDatabase[] = [];
      // One host on SQLite: its export files are a folder of the node.
      const sqliteMemberState = (on: SqliteDatabase): MemberStateStores => ({
        secretFingerprints: new SqliteSecretFingerprintStore(on),
        benefitPolicies: new SqliteBenefitPolicyStorage(on),
        exportFiles: createFolderExportFileStore(join(dir, 'exports')),
      });
      const records = new SqliteRecordStorage(db);
      const breakGlass = new SqliteBreakGlassStore(db);
      const applied: CommitGroup[] = [];
      return {
        outbox: new SqliteOutboxStorage(db),
        exportJobs: new SqliteExportJobStorage(db),
        chainIndex: new SqliteChainIndexStorage(db),
        applied,
        records,
        breakGlass,
        vaultLog: () =>
          new SqliteLogStorage(db, {
            applyCommitGroup: (group) => applyVaultCommitGroup({ records, breakGlass }, group),
          }),
        dataKeys: (options) => new SqliteKeyStore(db, options),
        consentOpenings: (sealer, now) => new SqliteConsentOpeningStore(db, sealer, now),
        keyChallenges: new SqliteLedgerKeyChallengeStore(db),
        auth: new SqliteAuthStore(db),
        otherAuth: () => {
          const other = openDatabase(join(dir, 'node.db'), authMigrations);
          others.push(other);
          return new SqliteAuthStore(other);
        },
        openingDeliveries: new SqliteOpeningDeliveryStore(db),
        supply: new SqliteSupplyStore(db),
        otherSupply: () => {
          const other = openDatabase(join(dir, 'node.db'), supplyMigrations);
          others.push(other);
          return new SqliteSupplyStore(other);
        },
        memberState: sqliteMemberState(db),
        otherMemberState: () => {
          const other = openDatabase(join(dir, 'node.db'), memberStateMigrations);
          others.push(other);
          return sqliteMemberState(other);
        },
        log: (options = {}) =>
          new SqliteLogStorage(db, {
            applyCommitGroup: (group) => {
              failing(options.failOnKind, group);
              applied.push(group);
            },
          }),
        async close() {
          for (const other of others) other.close();
          db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

function postgresMemberState(db: PostgresDatabase): MemberStateStores {
  return {
    secretFingerprints: new PostgresSecretFingerprintStore(db),
    benefitPolicies: new PostgresBenefitPolicyStorage(db),
    exportFiles: new PostgresExportFileStore(db),
  };
}

/** `createDatabase` makes a new empty database on the test server (test/support/test-postgres.ts). */
export function postgresAdapter(createDatabase: (name: string) => Promise<string>): StorageAdapter {
  let n = 0;
  return {
    name: 'postgres',
    async open() {
      n += 1;
      const url = await createDatabase(`contract_${process.pid}_${n}`);
      const db: PostgresDatabase = openPostgresDatabase(url);
      await migratePostgres(db, POSTGRES_MIGRATIONS);
      const applied: CommitGroup[] = [];
      const others: PostgresDatabase[] = [];
      return {
        outbox: new PostgresOutboxStorage(db),
        exportJobs: new PostgresExportJobStorage(db),
        chainIndex: new PostgresChainIndexStorage(db),
        applied,
        records: new PostgresRecordStorage(db),
        breakGlass: new PostgresBreakGlassStore(db),
        vaultLog: () => new PostgresLogStorage(db, { applyCommitGroup: applyVaultCommitGroupPostgres }),
        dataKeys: (options) => new PostgresKeyStore(db, options),
        consentOpenings: (sealer, now) => new PostgresConsentOpeningStore(db, sealer, now),
        keyChallenges: new PostgresLedgerKeyChallengeStore(db),
        auth: new PostgresAuthStore(db),
        otherAuth: () => {
          const other = openPostgresDatabase(url);
          others.push(other);
          return new PostgresAuthStore(other);
        },
        openingDeliveries: new PostgresOpeningDeliveryStore(db),
        supply: new PostgresSupplyStore(db),
        otherSupply: () => {
          const other = openPostgresDatabase(url);
          others.push(other);
          return new PostgresSupplyStore(other);
        },
        memberState: postgresMemberState(db),
        otherMemberState: () => {
          const other = openPostgresDatabase(url);
          others.push(other);
          return postgresMemberState(other);
        },
        log: (options = {}) =>
          new PostgresLogStorage(db, {
            applyCommitGroup: async (tx, group) => {
              // A real statement on the transaction's client, so a refusal below rolls it back too.
              await tx.execute('SELECT 1');
              failing(options.failOnKind, group);
              applied.push(group);
            },
          }),
        async close() {
          for (const other of others) await other.close();
          await db.close();
        },
      };
    },
  };
}
