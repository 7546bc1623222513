import type { IndexFilter, SearchIndexEntry } from '../../fhir/search/index.js';
import type {
  CandidateScope,
  CurrentPage,
  RecordStorage,
  StoredVersion,
} from '../../vault/record-storage.js';
import { AUDIT_EVENT } from '../audit-index-rows.js';
import { RECORD_COLUMNS, type RecordRow, recordColumnsOf, toStoredVersion } from '../record-rows.js';
import {
  auditIndexCondition,
  auditIndexParameter,
  insertAuditIndexPostgres,
} from './postgres-audit-index.js';
import type { PgQueryable, PostgresDatabase } from './postgres-database.js';

/** A candidate's columns: every column but is_current, which no reader needs. */
const CANDIDATE_COLUMNS = recordColumnsOf('r');

/**
 * Stores a version on the append's transaction client (the PostgreSQL side of the vault's commit
 * writes, src/vault/commit-writes.ts): its blind-index rows replace the resource's, the previous
 * version stops being current.
 */
export async function insertVersionPostgres(
  tx: PgQueryable,
  version: StoredVersion,
  index: readonly SearchIndexEntry[] = [],
): Promise<void> {
  if (version.resourceType === AUDIT_EVENT) await insertAuditIndexPostgres(tx, [{ version, index }]);
  else
    await tx.execute('DELETE FROM vault_search_index WHERE resource_type = $1 AND id = $2', [
      version.resourceType,
      version.id,
    ]);
  if (!version.deleted && index.length > 0 && version.resourceType !== AUDIT_EVENT) {
    await tx.execute(
      `INSERT INTO vault_search_index (resource_type, id, param, hash)
       SELECT $1, $2, * FROM unnest($3::text[], $4::text[])`,
      [version.resourceType, version.id, index.map((e) => e.param), index.map((e) => e.hash)],
    );
  }
  await tx.execute(
    'UPDATE vault_records SET is_current = FALSE WHERE resource_type = $1 AND id = $2 AND is_current',
    [version.resourceType, version.id],
  );
  await tx.execute(
    `INSERT INTO vault_records (resource_type, id, version_id, patient_id, last_updated, deleted, format, key_version,
       nonce, ciphertext, version_hash, log_index, commitment_salt, is_current)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, TRUE)`,
    [
      version.resourceType,
      version.id,
      version.versionId,
      version.patientId,
      version.lastUpdated,
      version.deleted,
      version.sealed?.format ?? null,
      version.sealed?.keyVersion ?? null,
      version.sealed === null ? null : Buffer.from(version.sealed.nonce),
      version.sealed === null ? null : Buffer.from(version.sealed.ciphertext),
      version.versionHash,
      version.logIndex,
      version.commitmentSalt === null ? null : Buffer.from(version.commitmentSalt),
    ],
  );
}

/** One version to insert with its blind-index rows. */
export interface VersionToInsert {
  readonly version: StoredVersion;
  readonly index: readonly SearchIndexEntry[];
}

/**
 * Several versions of distinct resources in four statements, whatever their number (issue 17: a
 * transaction Bundle paid four round trips per entry, about 3x SQLite's time). Each column travels as
 * one array parameter and `unnest` turns them back into rows, as the log's leaves do. The caller
 * keeps (type, id) distinct within a call: two versions of one resource must go in order, one call each.
 */
export async function insertVersionsPostgres(
  tx: PgQueryable,
  items: readonly VersionToInsert[],
): Promise<void> {
  if (items.length === 0) return;
  if (items.length === 1) {
    const [only] = items as [VersionToInsert];
    await insertVersionPostgres(tx, only.version, only.index);
    return;
  }
  const types = items.map((i) => i.version.resourceType);
  const ids = items.map((i) => i.version.id);
  await tx.execute(
    `DELETE FROM vault_search_index s USING unnest($1::text[], $2::text[]) AS k(resource_type, id)
     WHERE s.resource_type = k.resource_type AND s.id = k.id`,
    [types, ids],
  );
  await insertAuditIndexPostgres(tx, items);
  const rows = items.flatMap((i) =>
    i.version.deleted || i.version.resourceType === AUDIT_EVENT
      ? []
      : i.index.map((e) => [i.version.resourceType, i.version.id, e.param, e.hash] as const),
  );
  if (rows.length > 0) {
    await tx.execute(
      `INSERT INTO vault_search_index (resource_type, id, param, hash)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])],
    );
  }
  await tx.execute(
    `UPDATE vault_records r SET is_current = FALSE FROM unnest($1::text[], $2::text[]) AS k(resource_type, id)
     WHERE r.resource_type = k.resource_type AND r.id = k.id AND r.is_current`,
    [types, ids],
  );
  const v = items.map((i) => i.version);
  await tx.execute(
    `INSERT INTO vault_records (resource_type, id, version_id, patient_id, last_updated, deleted, format, key_version,
       nonce, ciphertext, version_hash, log_index, commitment_salt, is_current)
     SELECT *, TRUE FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::boolean[], $7::int[],
       $8::int[], $9::bytea[], $10::bytea[], $11::text[], $12::bigint[], $13::bytea[])`,
    [
      types,
      ids,
      v.map((x) => x.versionId),
      v.map((x) => x.patientId),
      v.map((x) => x.lastUpdated),
      v.map((x) => x.deleted),
      v.map((x) => x.sealed?.format ?? null),
      v.map((x) => x.sealed?.keyVersion ?? null),
      v.map((x) => (x.sealed === null ? null : Buffer.from(x.sealed.nonce))),
      v.map((x) => (x.sealed === null ? null : Buffer.from(x.sealed.ciphertext))),
      v.map((x) => x.versionHash),
      v.map((x) => x.logIndex),
      v.map((x) => (x.commitmentSalt === null ? null : Buffer.from(x.commitmentSalt))),
    ],
  );
}

/** Erasure: the blind-index rows of a patient's records (not of AuditEvents about them). */
export async function dropSearchIndexPostgres(tx: PgQueryable, patientId: string): Promise<void> {
  await tx.execute(
    `DELETE FROM vault_search_index s WHERE s.resource_type <> 'AuditEvent' AND (s.resource_type, s.id) IN
       (SELECT resource_type, id FROM vault_records WHERE patient_id = $1 AND resource_type <> 'AuditEvent')`,
    [patientId],
  );
}

/** RecordStorage reads on PostgreSQL; writes arrive as commit writes (postgres-commit-applier.ts). */
export class PostgresRecordStorage implements RecordStorage {
  constructor(private readonly db: PostgresDatabase) {}

  async #rows(sql: string, params: readonly unknown[]): Promise<StoredVersion[]> {
    return (await this.db.query<RecordRow>(sql, params)).map(toStoredVersion);
  }

  async searchCandidates(
    resourceType: string,
    filters: readonly IndexFilter[],
    ids?: readonly string[],
    scope: CandidateScope = {},
  ): Promise<StoredVersion[]> {
    // Bound parameters only; arrays as one parameter each, so the text depends on the number of filters.
    const params: unknown[] = [resourceType];
    const clauses = ['r.resource_type = $1', 'r.is_current', 'NOT r.deleted'];
    if (scope.compartments !== undefined) {
      if (scope.compartments.length === 0) return [];
      params.push(scope.compartments);
      clauses.push(`r.patient_id = ANY($${params.length}::text[])`);
    }
    if (ids !== undefined) {
      if (ids.length === 0) return [];
      params.push(ids);
      clauses.push(`r.id = ANY($${params.length}::text[])`);
    }
    for (const filter of filters) {
      if (filter.hashes.length === 0) return [];
      if (resourceType === AUDIT_EVENT) {
        params.push(auditIndexParameter(filter.hashes));
        clauses.push(auditIndexCondition(params.length));
        continue;
      }
      params.push(filter.param, filter.hashes);
      clauses.push(
        `r.id IN (SELECT s.id FROM vault_search_index s WHERE s.resource_type = $1
          AND s.param = $${params.length - 1} AND s.hash = ANY($${params.length}::text[]))`,
      );
    }
    if (scope.after !== undefined) {
      // The same order as ORDER BY below: last updated (either way), then id ascending.
      params.push(scope.after.lastUpdated, scope.after.id);
      clauses.push(
        `(r.last_updated ${scope.descending === true ? '<' : '>'} $${params.length - 1}
          OR (r.last_updated = $${params.length - 1} AND r.id > $${params.length}))`,
      );
    }
    if (scope.limit !== undefined) params.push(scope.limit);
    return this.#rows(
      `SELECT ${CANDIDATE_COLUMNS} FROM vault_records r WHERE ${clauses.join(' AND ')}
       ORDER BY r.last_updated${scope.descending === true ? ' DESC' : ''}, r.id${scope.limit === undefined ? '' : ` LIMIT $${params.length}`}`,
      params,
    );
  }

  async current(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    const [version] = await this.#rows(
      `SELECT ${RECORD_COLUMNS} FROM vault_records WHERE resource_type = $1 AND id = $2 AND is_current`,
      [resourceType, id],
    );
    return version;
  }

  async version(resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    const [version] = await this.#rows(
      `SELECT ${RECORD_COLUMNS} FROM vault_records WHERE resource_type = $1 AND id = $2 AND version_id = $3`,
      [resourceType, id, versionId],
    );
    return version;
  }

  history(resourceType: string, id: string): Promise<StoredVersion[]> {
    return this.#rows(
      `SELECT ${RECORD_COLUMNS} FROM vault_records WHERE resource_type = $1 AND id = $2 ORDER BY version_id DESC`,
      [resourceType, id],
    );
  }

  typeHistory(
    resourceType: string,
    page: { since?: string; beforeLogIndex?: number; limit: number },
  ): Promise<StoredVersion[]> {
    return this.#rows(
      `SELECT ${RECORD_COLUMNS} FROM vault_records WHERE resource_type = $1 AND log_index < $2 AND last_updated > $3
       ORDER BY log_index DESC LIMIT $4`,
      [resourceType, page.beforeLogIndex ?? Number.MAX_SAFE_INTEGER, page.since ?? '', page.limit],
    );
  }

  systemHistory(page: { since?: string; beforeLogIndex?: number; limit: number }): Promise<StoredVersion[]> {
    return this.#rows(
      `SELECT ${RECORD_COLUMNS} FROM vault_records WHERE resource_type <> 'AuditEvent' AND log_index < $1 AND last_updated > $2
       ORDER BY log_index DESC LIMIT $3`,
      [page.beforeLogIndex ?? Number.MAX_SAFE_INTEGER, page.since ?? '', page.limit],
    );
  }

  listCurrent(resourceType: string, filter: { patientId?: string } = {}): Promise<StoredVersion[]> {
    return filter.patientId === undefined
      ? this.#rows(
          `SELECT ${RECORD_COLUMNS} FROM vault_records WHERE resource_type = $1 AND is_current AND NOT deleted ORDER BY last_updated, id`,
          [resourceType],
        )
      : this.#rows(
          `SELECT ${RECORD_COLUMNS} FROM vault_records WHERE resource_type = $1 AND patient_id = $2 AND is_current AND NOT deleted
           ORDER BY last_updated, id`,
          [resourceType, filter.patientId],
        );
  }

  pageCurrent(resourceType: string, page: CurrentPage): Promise<StoredVersion[]> {
    const params: unknown[] = [resourceType];
    const clauses = ['resource_type = $1', 'is_current', 'NOT deleted'];
    if (page.patients === 'any') clauses.push("patient_id <> ''");
    else if (page.patients !== undefined) {
      if (page.patients.length === 0) return Promise.resolve([]);
      params.push(page.patients);
      clauses.push(`patient_id = ANY($${params.length}::text[])`);
    }
    if (page.after !== undefined) {
      params.push(page.after.patientId, page.after.id);
      clauses.push(`(patient_id, id) > ($${params.length - 1}, $${params.length})`);
    }
    if (page.since !== undefined) {
      params.push(page.since);
      clauses.push(`last_updated > $${params.length}`);
    }
    if (page.until !== undefined) {
      params.push(page.until);
      clauses.push(`last_updated <= $${params.length}`);
    }
    params.push(page.limit);
    return this.#rows(
      `SELECT ${RECORD_COLUMNS} FROM vault_records WHERE ${clauses.join(' AND ')} ORDER BY patient_id, id LIMIT $${params.length}`,
      params,
    );
  }
}
