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
import type { PostgresDatabase } from './postgres-database.js';

/**
 * The tables of the k rounds, for the PostgreSQL schema step that adds them (version 10, decision
 * 0050; postgres-schema.ts takes it once versions 10 and 11 are in, the versions having no gaps).
 */
export const K_ROUNDS_POSTGRES_SQL = `
  CREATE TABLE research_k_rounds (
    round_id TEXT COLLATE "C" PRIMARY KEY,
    study_id TEXT COLLATE "C" NOT NULL,
    k INTEGER NOT NULL,
    members TEXT NOT NULL,
    began_at BIGINT NOT NULL,
    decisions TEXT
  );
  CREATE INDEX research_k_rounds_began ON research_k_rounds (began_at);
  CREATE TABLE research_k_round_entries (
    round_id TEXT COLLATE "C" NOT NULL REFERENCES research_k_rounds (round_id) ON DELETE CASCADE,
    member TEXT COLLATE "C" NOT NULL,
    digest TEXT NOT NULL,
    entries TEXT,
    PRIMARY KEY (round_id, member)
  );
`;

/** The coordinator's k rounds on PostgreSQL (schema version 10, decision 0050), shared by the member's hosts. */
export class PostgresKRoundStorage implements KRoundStorage {
  constructor(private readonly db: PostgresDatabase) {}

  async beginRound(r: StoredKRound): Promise<StoredKRound> {
    await this.db.execute(
      `INSERT INTO research_k_rounds (round_id, study_id, k, members, began_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (round_id) DO NOTHING`,
      [r.roundId, r.studyId, r.k, JSON.stringify(r.members), r.began],
    );
    return (await this.getRound(r.roundId)) as StoredKRound;
  }

  async getRound(roundId: string): Promise<StoredKRound | undefined> {
    const rows = await this.db.query<KRoundRow>('SELECT * FROM research_k_rounds WHERE round_id = $1', [
      roundId,
    ]);
    return rows[0] === undefined ? undefined : kRoundFromRow(rows[0]);
  }

  async putEntries(roundId: string, member: Address, digest: string, entries: string): Promise<string> {
    await this.db.execute(
      `INSERT INTO research_k_round_entries (round_id, member, digest, entries) VALUES ($1, $2, $3, $4)
       ON CONFLICT (round_id, member) DO NOTHING`,
      [roundId, member, digest, entries],
    );
    const rows = await this.db.query<{ digest: string }>(
      'SELECT digest FROM research_k_round_entries WHERE round_id = $1 AND member = $2',
      [roundId, member],
    );
    return rows[0]?.digest as string;
  }

  async listEntries(roundId: string): Promise<StoredKRoundEntries[]> {
    return (
      await this.db.query<KRoundEntriesRow>(
        'SELECT * FROM research_k_round_entries WHERE round_id = $1 ORDER BY member',
        [roundId],
      )
    ).map(kRoundEntriesFromRow);
  }

  async decideRound(roundId: string, decisions: string): Promise<string> {
    return this.db.transaction(async (tx) => {
      await tx.execute(
        'UPDATE research_k_rounds SET decisions = $1 WHERE round_id = $2 AND decisions IS NULL',
        [decisions, roundId],
      );
      await tx.execute('UPDATE research_k_round_entries SET entries = NULL WHERE round_id = $1', [roundId]);
      const rows = await tx.query<{ decisions: string | null }>(
        'SELECT decisions FROM research_k_rounds WHERE round_id = $1',
        [roundId],
      );
      return rows[0]?.decisions ?? decisions;
    });
  }

  async deleteRoundsBefore(began: number): Promise<void> {
    await this.db.execute('DELETE FROM research_k_rounds WHERE began_at < $1', [began]);
  }
}
