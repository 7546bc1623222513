/**
 * FHIR Bulk Data Access v2 `$export` (https://hl7.org/fhir/uv/bulkdata/STU2/export.html) as one
 * module: kick-off at system, Patient and Group level, a durable job queue, sealed NDJSON files
 * streamed to the requester, deletion and expiry. It reads records only through the vault's
 * access-checked, audited gateway (ExportSource), so an export sees exactly what a search would.
 */
import type { Context, Hono } from 'hono';
import type { AccessContext } from '../audit/create-audit-event.js';
import { planSearch } from '../fhir/search/index.js';
import { checkLaterValueSetLookup } from '../fhir/terminology/index.js';
import { BulkExportService, type BulkExportServiceOptions } from './bulk-export-service.js';
import type { ExportJobStorage, JobKeySealer } from './export-job.js';
import { createExportRoutes } from './export-routes.js';
import type { ExportSource } from './export-source.js';

export { BulkExportService, exportEntity } from './bulk-export-service.js';
export { createFolderExportFileStore, type ExportFileStore } from './export-file-store.js';
export type {
  ExportFile,
  ExportJob,
  ExportJobStatus,
  ExportJobStorage,
  ExportLevel,
  ExportRequest,
  JobKeySealer,
} from './export-job.js';
export type { ExportedResource, ExportPage, ExportPageRequest, ExportSource } from './export-source.js';
export { NDJSON_FORMATS, parseExportRequest, splitTypeFilter } from './parse-export-request.js';
export { type FrameSink, readSealedNdjson, SealedNdjsonWriter } from './sealed-ndjson-file.js';
export { createVaultExportSource } from './vault-export-source.js';
export { createVaultJobKeySealer } from './vault-job-key-sealer.js';

export interface BulkExportModuleDeps
  extends Omit<BulkExportServiceOptions, 'storage' | 'source' | 'keys' | 'dir' | 'resourceTypes'> {
  readonly storage: ExportJobStorage;
  readonly source: ExportSource;
  readonly keys: JobKeySealer;
  /** The node's folder for export files (e.g. <data>/exports). */
  readonly dir: string;
  /** The resource types the node serves (`_type` is checked against them). */
  readonly resourceTypes: readonly string[];
  readonly authenticate: (c: Context) => Promise<AccessContext>;
  /** The node's public base URL; the FHIR API is under /fhir. */
  readonly baseUrl: string;
  readonly retryAfterSeconds?: number;
}

export interface BulkExportModule {
  /** Mount under /fhir, before the generic FHIR routes (`/:type/:id` would take `/Patient/$export`). */
  readonly routes: Hono;
  readonly service: BulkExportService;
  start(options?: { recover?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export function createBulkExportModule(deps: BulkExportModuleDeps): BulkExportModule {
  const { storage, source, keys, dir, resourceTypes, authenticate, baseUrl, retryAfterSeconds, ...options } =
    deps;
  const service = new BulkExportService({ ...options, storage, source, keys, dir, resourceTypes });
  const served: ReadonlySet<string> = new Set(resourceTypes);
  const routes = createExportRoutes({
    service,
    authenticate,
    baseUrl: baseUrl.replace(/\/$/, ''),
    isServedType: (type) => served.has(type),
    // Planned as the search will run it, so a bad `_typeFilter` is a 400 at kick-off, not a failed job.
    // `:in` ValueSets the node may store are expanded when the job runs, within the requester's access.
    checkQuery: (type, query) => {
      planSearch(type, query, () => '', { handling: 'strict', valueSets: checkLaterValueSetLookup });
    },
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
  });
  return { routes, service, start: (options) => service.start(options), stop: () => service.stop() };
}
