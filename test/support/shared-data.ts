import { join } from 'node:path';

/**
 * The project's shared test data (synthetic Synthea bundles, bulk NDJSON), kept beside the repository
 * in `../shared/data` (see its SOURCE.md), as in CI; CARELEDGER_SHARED_DATA overrides the location.
 */
export const SHARED_DATA =
  process.env.CARELEDGER_SHARED_DATA ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'data');
export const SYNTHEA_DIR = join(SHARED_DATA, 'synthea-r4');
export const BULK_DIR = join(SHARED_DATA, 'bulk-10-patients');
