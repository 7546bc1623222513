/** A `research_releases` row as both adapters read it (SQLite and PostgreSQL, decision 0035). */
import type { StoredReleaseRecord } from '../research/release/release-record-store.js';

export interface ReleaseRecordRow {
  job_id: string;
  study_id: string;
  created_at: string;
  record: string;
}

export const releaseRecordFromRow = (row: ReleaseRecordRow): StoredReleaseRecord => ({
  jobId: row.job_id,
  studyId: row.study_id,
  createdAt: row.created_at,
  json: row.record,
});
