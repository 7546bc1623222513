import type { Address, Hex } from 'viem';
import type { StoredKRound, StoredKRoundEntries } from '../research/release/k-round-store.js';

/** A row of research_k_rounds, as SQLite and PostgreSQL return it. */
export interface KRoundRow {
  readonly round_id: string;
  readonly study_id: string;
  readonly k: number | string;
  readonly members: string;
  readonly began_at: number | string;
  readonly decisions: string | null;
}

/** A row of research_k_round_entries. */
export interface KRoundEntriesRow {
  readonly member: string;
  readonly digest: string;
  readonly entries: string | null;
}

export function kRoundFromRow(row: KRoundRow): StoredKRound {
  return {
    roundId: row.round_id,
    studyId: row.study_id as Hex,
    k: Number(row.k),
    members: JSON.parse(row.members) as Address[],
    began: Number(row.began_at),
    ...(row.decisions === null ? {} : { decisions: row.decisions }),
  };
}

export function kRoundEntriesFromRow(row: KRoundEntriesRow): StoredKRoundEntries {
  return {
    member: row.member as Address,
    digest: row.digest,
    ...(row.entries === null ? {} : { entries: row.entries }),
  };
}
