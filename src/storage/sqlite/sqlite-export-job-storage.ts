import type { ExportJob, ExportJobStatus, ExportJobStorage } from '../../export/export-job.js';
import type { Migration, SqliteDatabase } from './open-database.js';

export const exportJobMigrations: Migration[] = [
  {
    id: 'export-001',
    // Identifiers, times, counts and the requester's access context: no PHI (the files are sealed,
    // the file key is sealed under the node key). `_typeFilter` queries may hold search values, so the
    // request is kept with the job only as long as the job is.
    sql: `
      CREATE TABLE export_jobs (
        id TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        request TEXT NOT NULL,
        request_url TEXT NOT NULL,
        context TEXT NOT NULL,
        patient_ids TEXT,
        transaction_time TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        completed_at TEXT,
        expires_at TEXT,
        progress TEXT NOT NULL,
        sealed_key TEXT NOT NULL,
        output TEXT NOT NULL,
        errors TEXT NOT NULL,
        failure TEXT,
        attempts INTEGER NOT NULL
      );
      CREATE INDEX export_jobs_status ON export_jobs (status, created_at);
    `,
  },
  {
    id: 'export-002',
    // Bulk export pages through a type's current records in (patient, id) order (keyset), so each page
    // is an index range whatever the size of the type (SqliteRecordStorage.pageCurrent).
    sql: 'CREATE INDEX vault_records_export ON vault_records (resource_type, patient_id, id) WHERE is_current = 1;',
  },
];

export interface ExportJobRow {
  id: string;
  status: ExportJobStatus;
  request: string;
  request_url: string;
  context: string;
  patient_ids: string | null;
  transaction_time: string;
  created_at: string;
  updated_at: string;
  completed_at: string | null;
  expires_at: string | null;
  progress: string;
  sealed_key: string;
  output: string;
  errors: string;
  failure: string | null;
  attempts: number;
}

export function toJob(row: ExportJobRow): ExportJob {
  return {
    id: row.id,
    status: row.status,
    request: JSON.parse(row.request),
    requestUrl: row.request_url,
    context: JSON.parse(row.context),
    ...(row.patient_ids === null ? {} : { patientIds: JSON.parse(row.patient_ids) }),
    transactionTime: row.transaction_time,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    ...(row.completed_at === null ? {} : { completedAt: row.completed_at }),
    ...(row.expires_at === null ? {} : { expiresAt: row.expires_at }),
    progress: row.progress,
    sealedKey: row.sealed_key,
    output: JSON.parse(row.output),
    errors: JSON.parse(row.errors),
    ...(row.failure === null ? {} : { failure: JSON.parse(row.failure) }),
    attempts: row.attempts,
  };
}

/** Columns an update may set, with how each value is stored. */
export const EXPORT_JOB_COLUMNS: Record<string, { column: string; encode: (value: unknown) => unknown }> = {
  status: { column: 'status', encode: (v) => v },
  requestUrl: { column: 'request_url', encode: (v) => v },
  patientIds: { column: 'patient_ids', encode: (v) => JSON.stringify(v) },
  transactionTime: { column: 'transaction_time', encode: (v) => v },
  updatedAt: { column: 'updated_at', encode: (v) => v },
  completedAt: { column: 'completed_at', encode: (v) => v },
  expiresAt: { column: 'expires_at', encode: (v) => v },
  progress: { column: 'progress', encode: (v) => v },
  sealedKey: { column: 'sealed_key', encode: (v) => v },
  output: { column: 'output', encode: (v) => JSON.stringify(v) },
  errors: { column: 'errors', encode: (v) => JSON.stringify(v) },
  failure: { column: 'failure', encode: (v) => JSON.stringify(v) },
  attempts: { column: 'attempts', encode: (v) => v },
};

export class SqliteExportJobStorage implements ExportJobStorage {
  private readonly sql;

  constructor(private readonly db: SqliteDatabase) {
    this.sql = {
      insert: db.prepare(
        `INSERT INTO export_jobs (id, status, request, request_url, context, patient_ids, transaction_time, created_at,
           updated_at, completed_at, expires_at, progress, sealed_key, output, errors, failure, attempts)
         VALUES (@id, @status, @request, @requestUrl, @context, @patientIds, @transactionTime, @createdAt,
           @updatedAt, @completedAt, @expiresAt, @progress, @sealedKey, @output, @errors, @failure, @attempts)`,
      ),
      get: db.prepare('SELECT * FROM export_jobs WHERE id = ?'),
      delete: db.prepare('DELETE FROM export_jobs WHERE id = ?'),
      expired: db.prepare(
        `SELECT * FROM export_jobs WHERE status IN ('completed', 'failed') AND expires_at IS NOT NULL
           AND expires_at <= ? ORDER BY expires_at`,
      ),
    };
  }

  async insert(job: ExportJob): Promise<void> {
    this.sql.insert.run({
      id: job.id,
      status: job.status,
      request: JSON.stringify(job.request),
      requestUrl: job.requestUrl,
      context: JSON.stringify(job.context),
      patientIds: job.patientIds === undefined ? null : JSON.stringify(job.patientIds),
      transactionTime: job.transactionTime,
      createdAt: job.createdAt,
      updatedAt: job.updatedAt,
      completedAt: job.completedAt ?? null,
      expiresAt: job.expiresAt ?? null,
      progress: job.progress,
      sealedKey: job.sealedKey,
      output: JSON.stringify(job.output),
      errors: JSON.stringify(job.errors),
      failure: job.failure === undefined ? null : JSON.stringify(job.failure),
      attempts: job.attempts,
    });
  }

  async get(id: string): Promise<ExportJob | undefined> {
    const row = this.sql.get.get(id) as ExportJobRow | undefined;
    return row === undefined ? undefined : toJob(row);
  }

  async update(id: string, patch: Parameters<ExportJobStorage['update']>[1]): Promise<void> {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [key, value] of Object.entries(patch)) {
      const column = EXPORT_JOB_COLUMNS[key];
      if (column === undefined || value === undefined) continue;
      sets.push(`${column.column} = ?`);
      values.push(column.encode(value));
    }
    if (sets.length === 0) return;
    // Column names come from the fixed table above, never from input.
    this.db.prepare(`UPDATE export_jobs SET ${sets.join(', ')} WHERE id = ?`).run(...values, id);
  }

  async delete(id: string): Promise<void> {
    this.sql.delete.run(id);
  }

  async listByStatus(statuses: readonly ExportJobStatus[]): Promise<ExportJob[]> {
    if (statuses.length === 0) return [];
    const rows = this.db
      .prepare(
        `SELECT * FROM export_jobs WHERE status IN (${statuses.map(() => '?').join(', ')}) ORDER BY created_at, id`,
      )
      .all(...statuses) as ExportJobRow[];
    return rows.map(toJob);
  }

  async listExpired(now: string): Promise<ExportJob[]> {
    return (this.sql.expired.all(now) as ExportJobRow[]).map(toJob);
  }
}
