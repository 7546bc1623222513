import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address } from 'viem';
import { AccessPolicy, MemoryBreakGlassStore } from '../../src/access/index.js';
import { createSignerKey, TransparencyLog } from '../../src/log/index.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/open-database.js';
import { breakGlassMigrations } from '../../src/storage/sqlite/sqlite-break-glass-store.js';
import { createSqliteCommitApplier } from '../../src/storage/sqlite/sqlite-commit-applier.js';
import { createSqliteKeyStore, keyStoreMigrations } from '../../src/storage/sqlite/sqlite-key-store.js';
import { logMigrations, SqliteLogStorage } from '../../src/storage/sqlite/sqlite-log-storage.js';
import { recordMigrations, SqliteRecordStorage } from '../../src/storage/sqlite/sqlite-record-storage.js';
import { FhirRepository } from '../../src/vault/fhir-repository.js';
import { createLocalKeystore, MIN_SCRYPT_COST } from '../../src/vault/local-keystore-key-provider.js';
import { VaultCrypto } from '../../src/vault/vault-crypto.js';
import { GrantList } from './grant-list.js';

export interface TestVault {
  readonly dir: string;
  readonly db: SqliteDatabase;
  readonly log: TransparencyLog;
  readonly repo: FhirRepository;
  /** The vault's envelope encryption (modules that seal under the node key use it too). */
  readonly crypto: VaultCrypto;
  readonly grants: GrantList;
  readonly breakGlass: MemoryBreakGlassStore;
  /** The clock the vault and the policy read; tests move it. */
  readonly clock: { now: Date };
  close(): void;
}

/** A real vault (SQLite, envelope encryption, transparency log) with a list of ledger grants. */
export async function openTestVault(nodeAddress: Address): Promise<TestVault> {
  const dir = mkdtempSync(join(tmpdir(), 'careledger-vault-'));
  const db = openDatabase(join(dir, 'node.db'), [
    ...logMigrations,
    ...keyStoreMigrations,
    ...recordMigrations,
    ...breakGlassMigrations,
  ]);
  const provider = await createLocalKeystore(join(dir, 'keystore.json'), 'test passphrase', {
    scryptCost: MIN_SCRYPT_COST,
  });
  const crypto = await VaultCrypto.create({
    keyProvider: provider,
    dataKeys: await createSqliteKeyStore(db, provider),
  });
  const breakGlass = new MemoryBreakGlassStore();
  const log = await TransparencyLog.open({
    storage: new SqliteLogStorage(db, { applyCommitGroup: createSqliteCommitApplier(db, { breakGlass }) }),
    signerKey: createSignerKey('test.example/log').signerKey,
  });
  const grants = new GrantList();
  const clock = { now: new Date('2026-11-21T10:00:00Z') };
  const now = () => clock.now;
  const repo = new FhirRepository({
    storage: new SqliteRecordStorage(db),
    crypto,
    log,
    observer: { display: 'Riverside General Hospital', origin: 'test.example/log' },
    now,
    breakGlass,
    policy: new AccessPolicy({
      consent: grants.decide,
      grantingPatients: grants.granting,
      nodeAddress,
      breakGlass,
      now,
    }),
  });
  return {
    dir,
    db,
    log,
    repo,
    crypto,
    grants,
    breakGlass,
    clock,
    close() {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
