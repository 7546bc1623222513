import { join } from 'node:path';
import type { Hono } from 'hono';
import {
  createBulkExportModule,
  createVaultExportSource,
  createVaultJobKeySealer,
} from '../../export/index.js';
import type { Authenticate } from '../../http/authenticate-request.js';
import { SUPPORTED_RESOURCE_TYPES } from '../../http/routes/fhir-routes.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { VaultCrypto } from '../../vault/index.js';
import type { NodeBase } from './node-base.js';

type ExportSource = ReturnType<typeof createVaultExportSource>;

export interface BulkExportDeps {
  readonly repository: FhirRepository;
  readonly crypto: VaultCrypto;
  readonly authenticate: Authenticate;
  readonly issuer: string;
  /** Wraps the vault's export source (the study releases read through it). */
  readonly source: (vault: ExportSource) => Parameters<typeof createBulkExportModule>[0]['source'];
}

/** Bulk Data $export, before the generic FHIR routes (`/:type/:id` would take `/Patient/$export`). */
export function mountBulkExport(app: Hono, base: NodeBase, deps: BulkExportDeps) {
  const { dir, config, stores, say } = base;
  const bulkExport = createBulkExportModule({
    storage: stores.exportJobs,
    source: deps.source(createVaultExportSource(deps.repository)),
    keys: createVaultJobKeySealer(deps.crypto),
    dir: join(dir, 'exports'),
    // Decision 0033: on PostgreSQL the sealed files are rows of the member's database, so any of its
    // hosts serves the download; on SQLite (one host) they stay in the folder.
    ...(stores.exportFiles === undefined ? {} : { files: stores.exportFiles }),
    resourceTypes: SUPPORTED_RESOURCE_TYPES,
    authenticate: deps.authenticate,
    baseUrl: deps.issuer,
    ...(config.bulkExport?.fileTtlHours === undefined
      ? {}
      : { fileTtlMs: config.bulkExport.fileTtlHours * 3600 * 1000 }),
    log: say,
  });
  app.route('/fhir', bulkExport.routes);
  return bulkExport;
}
