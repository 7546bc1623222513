import type { ExportJob, ExportJobStatus, ExportJobStorage } from '../../export/export-job.js';
import { EXPORT_JOB_COLUMNS, type ExportJobRow, toJob } from '../sqlite/sqlite-export-job-storage.js';
import type { PostgresDatabase } from './postgres-database.js';

/** ExportJobStorage on PostgreSQL; the same rows as SqliteExportJobStorage. */
export class PostgresExportJobStorage implements ExportJobStorage {
  constructor(private readonly db: PostgresDatabase) {}

  async insert(job: ExportJob): Promise<void> {
    await this.db.execute(
      `INSERT INTO export_jobs (id, status, request, request_url, context, patient_ids, transaction_time, created_at,
         updated_at, completed_at, expires_at, progress, sealed_key, output, errors, failure, attempts)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
      [
        job.id,
        job.status,
        JSON.stringify(job.request),
        job.requestUrl,
        JSON.stringify(job.context),
        job.patientIds === undefined ? null : JSON.stringify(job.patientIds),
        job.transactionTime,
        job.createdAt,
        job.updatedAt,
        job.completedAt ?? null,
        job.expiresAt ?? null,
        job.progress,
        job.sealedKey,
        JSON.stringify(job.output),
        JSON.stringify(job.errors),
        job.failure === undefined ? null : JSON.stringify(job.failure),
        job.attempts,
      ],
    );
  }

  async get(id: string): Promise<ExportJob | undefined> {
    const [row] = await this.db.query<ExportJobRow>('SELECT * FROM export_jobs WHERE id = $1', [id]);
    return row === undefined ? undefined : toJob(row);
  }

  async update(id: string, patch: Parameters<ExportJobStorage['update']>[1]): Promise<void> {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [key, value] of Object.entries(patch)) {
      const column = EXPORT_JOB_COLUMNS[key];
      if (column === undefined || value === undefined) continue;
      values.push(column.encode(value));
      sets.push(`${column.column} = $${values.length}`);
    }
    if (sets.length === 0) return;
    // Column names come from the fixed table, never from input.
    await this.db.execute(`UPDATE export_jobs SET ${sets.join(', ')} WHERE id = $${values.length + 1}`, [
      ...values,
      id,
    ]);
  }

  async delete(id: string): Promise<void> {
    await this.db.execute('DELETE FROM export_jobs WHERE id = $1', [id]);
  }

  async listByStatus(statuses: readonly ExportJobStatus[]): Promise<ExportJob[]> {
    if (statuses.length === 0) return [];
    const rows = await this.db.query<ExportJobRow>(
      'SELECT * FROM export_jobs WHERE status = ANY($1::text[]) ORDER BY created_at, id',
      [statuses],
    );
    return rows.map(toJob);
  }

  async listExpired(now: string): Promise<ExportJob[]> {
    const rows = await this.db.query<ExportJobRow>(
      `SELECT * FROM export_jobs WHERE status IN ('completed', 'failed') AND expires_at IS NOT NULL
         AND expires_at <= $1 ORDER BY expires_at`,
      [now],
    );
    return rows.map(toJob);
  }
}
