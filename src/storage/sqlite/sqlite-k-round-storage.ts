import type { Address } from 'viem';
import type {
  KRoundStorage,
  StoredKRound,
  StoredKRoundEntries,
} from '../../research/release/k-round-store.js';
import {
  type KRoundEntriesRow,
  type KRoundRow,
  kRoundEntriesFromRow,
  kRoundFromRow,
} from '../k-round-rows.js';
import type { Migration, SqliteDatabase } from './open-database.js';

/** The coordinator's k rounds (decision 0050), in the member's database. */
export const kRoundMigrations: Migration[] = [
  {
    id: 'research-k-rounds-001',
    sql: `
      CREATE TABLE research_k_rounds (
        round_id TEXT PRIMARY KEY,
        study_id TEXT NOT NULL,
        k INTEGER NOT NULL,
        members TEXT NOT NULL,
        began_at INTEGER NOT NULL,
        decisions TEXT
      );
      CREATE INDEX research_k_rounds_began ON research_k_rounds (began_at);
      CREATE TABLE research_k_round_entries (
        round_id TEXT NOT NULL REFERENCES research_k_rounds (round_id) ON DELETE CASCADE,
        member TEXT NOT NULL,
        digest TEXT NOT NULL,
        entries TEXT,
        PRIMARY KEY (round_id, member)
      );
    `,
  },
];

export class SqliteKRoundStorage implements KRoundStorage {
  constructor(private readonly db: SqliteDatabase) {}

  async beginRound(r: StoredKRound): Promise<StoredKRound> {
    this.db
      .prepare(
        `INSERT INTO research_k_rounds (round_id, study_id, k, members, began_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (round_id) DO NOTHING`,
      )
      .run(r.roundId, r.studyId, r.k, JSON.stringify(r.members), r.began);
    return (await this.getRound(r.roundId)) as StoredKRound;
  }

  async getRound(roundId: string): Promise<StoredKRound | undefined> {
    const row = this.db.prepare('SELECT * FROM research_k_rounds WHERE round_id = ?').get(roundId) as
      | KRoundRow
      | undefined;
    return row === undefined ? undefined : kRoundFromRow(row);
  }

  async putEntries(roundId: string, member: Address, digest: string, entries: string): Promise<string> {
    this.db
      .prepare(
        `INSERT INTO research_k_round_entries (round_id, member, digest, entries) VALUES (?, ?, ?, ?)
         ON CONFLICT (round_id, member) DO NOTHING`,
      )
      .run(roundId, member, digest, entries);
    const row = this.db
      .prepare('SELECT digest FROM research_k_round_entries WHERE round_id = ? AND member = ?')
      .get(roundId, member) as { digest: string };
    return row.digest;
  }

  async listEntries(roundId: string): Promise<StoredKRoundEntries[]> {
    return (
      this.db
        .prepare('SELECT * FROM research_k_round_entries WHERE round_id = ? ORDER BY member')
        .all(roundId) as KRoundEntriesRow[]
    ).map(kRoundEntriesFromRow);
  }

  async decideRound(roundId: string, decisions: string): Promise<string> {
    return this.db.transaction(() => {
      this.db
        .prepare('UPDATE research_k_rounds SET decisions = ? WHERE round_id = ? AND decisions IS NULL')
        .run(decisions, roundId);
      this.db.prepare('UPDATE research_k_round_entries SET entries = NULL WHERE round_id = ?').run(roundId);
      const row = this.db
        .prepare('SELECT decisions FROM research_k_rounds WHERE round_id = ?')
        .get(roundId) as { decisions: string | null } | undefined;
      return row?.decisions ?? decisions;
    })();
  }

  async deleteRoundsBefore(began: number): Promise<void> {
    this.db.prepare('DELETE FROM research_k_rounds WHERE began_at < ?').run(began);
  }
}
