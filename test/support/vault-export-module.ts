import {
  type BulkExportModule,
  type BulkExportModuleDeps,
  createBulkExportModule,
  createVaultExportSource,
  createVaultJobKeySealer,
} from '../../src/export/index.js';
import { createAuthenticator } from '../../src/http/authenticate-request.js';
import { SUPPORTED_RESOURCE_TYPES } from '../../src/http/routes/fhir-routes.js';
import { applyMigrations } from '../../src/storage/sqlite/open-database.js';
import {
  exportJobMigrations,
  SqliteExportJobStorage,
} from '../../src/storage/sqlite/sqlite-export-job-storage.js';
import type { TestVault } from './open-test-vault.js';

/** Adds the export job table to a test vault's database (once, before the first module). */
export function addExportJobTable(vault: TestVault): void {
  applyMigrations(vault.db, exportJobMigrations);
}

/**
 * The Bulk Data export module over a test vault, as start-node wires it: SQLite job storage, the
 * vault as export source, job keys sealed by the vault, files under the vault's folder, the
 * development identity header, the vault's clock. `overrides` replaces any of these.
 */
export function createVaultExportModule(
  vault: TestVault,
  overrides: Partial<BulkExportModuleDeps> = {},
): BulkExportModule {
  return createBulkExportModule({
    storage: new SqliteExportJobStorage(vault.db),
    source: createVaultExportSource(vault.repo),
    keys: createVaultJobKeySealer(vault.crypto),
    dir: `${vault.dir}/exports`,
    resourceTypes: SUPPORTED_RESOURCE_TYPES,
    authenticate: createAuthenticator({
      organization: 'Riverside General Hospital',
      devIdentityHeader: true,
    }),
    baseUrl: 'http://node.test',
    now: () => vault.clock.now,
    ...overrides,
  });
}
