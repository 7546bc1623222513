/** The AuditEvent index on PostgreSQL (schema 9; src/storage/audit-index-rows.ts, decision 0039). */
import type { SearchIndexEntry } from '../../fhir/search/index.js';
import type { StoredVersion } from '../../vault/record-storage.js';
import { AUDIT_EVENT, auditIndexKey, auditIndexKeys } from '../audit-index-rows.js';
import type { PgQueryable } from './postgres-database.js';

/** Writes the index rows of the AuditEvents among `items` (others are left to vault_search_index). */
export async function insertAuditIndexPostgres(
  tx: PgQueryable,
  items: readonly { readonly version: StoredVersion; readonly index: readonly SearchIndexEntry[] }[],
): Promise<void> {
  const hashes: Buffer[] = [];
  const logIndices: number[] = [];
  for (const item of items) {
    if (item.version.resourceType !== AUDIT_EVENT) continue;
    for (const key of auditIndexKeys(item.index)) {
      hashes.push(key);
      logIndices.push(item.version.logIndex);
    }
  }
  if (hashes.length === 0) return;
  await tx.execute(
    `INSERT INTO vault_audit_index (hash, log_index) SELECT * FROM unnest($1::bytea[], $2::bigint[])
     ON CONFLICT DO NOTHING`,
    [hashes, logIndices],
  );
}

/** The search condition of one AuditEvent filter, its hashes bound as parameter `$n` (one array). */
export function auditIndexCondition(n: number): string {
  return `r.log_index IN (SELECT a.log_index FROM vault_audit_index a WHERE a.hash = ANY($${n}::bytea[]))`;
}

/** The parameter of `auditIndexCondition`: the row keys of a filter's hashes. */
export function auditIndexParameter(hashes: readonly string[]): Buffer[] {
  return hashes.map(auditIndexKey);
}
