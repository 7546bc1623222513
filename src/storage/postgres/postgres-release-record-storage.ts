import type { Hex } from 'viem';
import type { StudyProtocolStorage } from '../../research/ledger/study-protocol.js';
import type {
  ReleaseRecordStorage,
  StoredReleaseRecord,
} from '../../research/release/release-record-store.js';
import { type ReleaseRecordRow, releaseRecordFromRow } from '../release-record-rows.js';
import type { PostgresDatabase } from './postgres-database.js';

/** Study release records on PostgreSQL (schema version 8, decision 0035), shared by the member's hosts. */
export class PostgresReleaseRecordStorage implements ReleaseRecordStorage {
  constructor(private readonly db: PostgresDatabase) {}

  async putRecord(r: StoredReleaseRecord): Promise<void> {
    await this.db.execute(
      `INSERT INTO research_releases (job_id, study_id, created_at, record) VALUES ($1, $2, $3, $4)
       ON CONFLICT (job_id) DO UPDATE SET record = excluded.record`,
      [r.jobId, r.studyId, r.createdAt, r.json],
    );
  }

  async insertRecordIfAbsent(r: StoredReleaseRecord): Promise<void> {
    await this.db.execute(
      `INSERT INTO research_releases (job_id, study_id, created_at, record) VALUES ($1, $2, $3, $4)
       ON CONFLICT (job_id) DO NOTHING`,
      [r.jobId, r.studyId, r.createdAt, r.json],
    );
  }

  async getRecord(jobId: string): Promise<StoredReleaseRecord | undefined> {
    const rows = await this.db.query<ReleaseRecordRow>('SELECT * FROM research_releases WHERE job_id = $1', [
      jobId,
    ]);
    return rows[0] === undefined ? undefined : releaseRecordFromRow(rows[0]);
  }

  async listRecords(): Promise<StoredReleaseRecord[]> {
    return (
      await this.db.query<ReleaseRecordRow>('SELECT * FROM research_releases ORDER BY created_at, job_id')
    ).map(releaseRecordFromRow);
  }
}

/** Protocol documents by hash on PostgreSQL (schema version 8). */
export class PostgresStudyProtocolStorage implements StudyProtocolStorage {
  constructor(private readonly db: PostgresDatabase) {}

  async putProtocol(hash: Hex, json: string): Promise<void> {
    await this.db.execute(
      'INSERT INTO research_protocols (protocol_hash, document) VALUES ($1, $2) ON CONFLICT DO NOTHING',
      [hash.toLowerCase(), json],
    );
  }

  async getProtocol(hash: Hex): Promise<string | undefined> {
    const rows = await this.db.query<{ document: string }>(
      'SELECT document FROM research_protocols WHERE protocol_hash = $1',
      [hash.toLowerCase()],
    );
    return rows[0]?.document;
  }
}
