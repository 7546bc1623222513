import type { Hex } from 'viem';
import type { StudyProtocolStorage } from '../../research/ledger/study-protocol.js';
import type {
  ReleaseRecordStorage,
  StoredReleaseRecord,
} from '../../research/release/release-record-store.js';
import { type ReleaseRecordRow, releaseRecordFromRow } from '../release-record-rows.js';
import type { Migration, SqliteDatabase } from './open-database.js';

/** Study release records and protocol documents (decision 0035), in the member's database. */
export const releaseRecordMigrations: Migration[] = [
  {
    id: 'research-releases-001',
    sql: `
      CREATE TABLE research_releases (
        job_id TEXT PRIMARY KEY,
        study_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        record TEXT NOT NULL
      );
    `,
  },
  {
    id: 'research-protocols-001',
    sql: `
      CREATE TABLE research_protocols (
        protocol_hash TEXT PRIMARY KEY,
        document TEXT NOT NULL
      );
    `,
  },
];

export class SqliteReleaseRecordStorage implements ReleaseRecordStorage {
  constructor(private readonly db: SqliteDatabase) {}

  async putRecord(r: StoredReleaseRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO research_releases (job_id, study_id, created_at, record) VALUES (?, ?, ?, ?)
         ON CONFLICT (job_id) DO UPDATE SET record = excluded.record`,
      )
      .run(r.jobId, r.studyId, r.createdAt, r.json);
  }

  async insertRecordIfAbsent(r: StoredReleaseRecord): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO research_releases (job_id, study_id, created_at, record) VALUES (?, ?, ?, ?)
         ON CONFLICT (job_id) DO NOTHING`,
      )
      .run(r.jobId, r.studyId, r.createdAt, r.json);
  }

  async getRecord(jobId: string): Promise<StoredReleaseRecord | undefined> {
    const row = this.db.prepare('SELECT * FROM research_releases WHERE job_id = ?').get(jobId) as
      | ReleaseRecordRow
      | undefined;
    return row === undefined ? undefined : releaseRecordFromRow(row);
  }

  async listRecords(): Promise<StoredReleaseRecord[]> {
    return (
      this.db
        .prepare('SELECT * FROM research_releases ORDER BY created_at, job_id')
        .all() as ReleaseRecordRow[]
    ).map(releaseRecordFromRow);
  }
}

/** Protocol documents by hash; the hash is of the document, so the first copy kept is the only one. */
export class SqliteStudyProtocolStorage implements StudyProtocolStorage {
  constructor(private readonly db: SqliteDatabase) {}

  async putProtocol(hash: Hex, json: string): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO research_protocols (protocol_hash, document) VALUES (?, ?) ON CONFLICT DO NOTHING',
      )
      .run(hash.toLowerCase(), json);
  }

  async getProtocol(hash: Hex): Promise<string | undefined> {
    const row = this.db
      .prepare('SELECT document FROM research_protocols WHERE protocol_hash = ?')
      .get(hash.toLowerCase()) as { document: string } | undefined;
    return row?.document;
  }
}
