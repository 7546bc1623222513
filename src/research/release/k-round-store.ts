/**
 * Where the coordinator of a k round keeps it (decision 0050): the round (study, k, its members, when
 * it began), each member's entries until the round is decided, then the decision, in the member's
 * database (SQLite, or PostgreSQL schema version 10). A coordinator that restarts mid-round finds the
 * entries already sent and completes the round when the last member's arrive; a member asking again
 * after the decision gets the same answer. Before, rounds lived in process memory and a restart lost them.
 *
 * What is kept is what a round holds anyway: per cohort patient a keyed link (opaque outside the
 * members holding the research secret) and a de-identified class key. The entries are dropped once
 * the round is decided (only their SHA-256 stays, to tell a member's repeat from changed entries), and
 * a whole round is deleted when it expires.
 */
import type { Address, Hex } from 'viem';

/** A round as the coordinator keeps it. */
export interface StoredKRound {
  readonly roundId: string;
  readonly studyId: Hex;
  readonly k: number;
  /** The data members that must send entries, lowest address first. */
  readonly members: readonly Address[];
  /** Milliseconds since the epoch. */
  readonly began: number;
  /** The decision per member, as JSON, once every member has sent its entries. */
  readonly decisions?: string;
}

/** One member's entries for a round: their SHA-256, and their JSON until the round is decided. */
export interface StoredKRoundEntries {
  readonly member: Address;
  readonly digest: string;
  readonly entries?: string;
}

/** The coordinator's rounds, implemented by the SQLite and PostgreSQL adapters and by {@link MemoryKRoundStorage}. */
export interface KRoundStorage {
  /** Inserts the round unless one with its id exists; the round as stored (the first one in wins). */
  beginRound(round: StoredKRound): Promise<StoredKRound>;
  getRound(roundId: string): Promise<StoredKRound | undefined>;
  /** Inserts a member's entries unless it sent some; the digest stored (the first one in wins). */
  putEntries(roundId: string, member: Address, digest: string, entries: string): Promise<string>;
  /** Every member's entries sent for the round. */
  listEntries(roundId: string): Promise<StoredKRoundEntries[]>;
  /**
   * Records the decision unless the round has one, and drops the round's entries (their digests
   * stay); the decision as stored.
   */
  decideRound(roundId: string, decisions: string): Promise<string>;
  /** Deletes every round (and its entries) that began before `began`. */
  deleteRoundsBefore(began: number): Promise<void>;
}

/** Rounds in process memory: a node whose composition root passes no database (tests, benchmarks). */
export class MemoryKRoundStorage implements KRoundStorage {
  private readonly rounds = new Map<string, StoredKRound>();
  private readonly entries = new Map<string, Map<Address, StoredKRoundEntries>>();

  async beginRound(round: StoredKRound): Promise<StoredKRound> {
    const stored = this.rounds.get(round.roundId) ?? round;
    this.rounds.set(round.roundId, stored);
    return stored;
  }

  async getRound(roundId: string): Promise<StoredKRound | undefined> {
    return this.rounds.get(roundId);
  }

  async putEntries(roundId: string, member: Address, digest: string, entries: string): Promise<string> {
    const sent = this.entries.get(roundId) ?? new Map<Address, StoredKRoundEntries>();
    this.entries.set(roundId, sent);
    const stored = sent.get(member) ?? { member, digest, entries };
    sent.set(member, stored);
    return stored.digest;
  }

  async listEntries(roundId: string): Promise<StoredKRoundEntries[]> {
    return [...(this.entries.get(roundId)?.values() ?? [])];
  }

  async decideRound(roundId: string, decisions: string): Promise<string> {
    const round = this.rounds.get(roundId);
    if (round === undefined) return decisions;
    if (round.decisions !== undefined) return round.decisions;
    this.rounds.set(roundId, { ...round, decisions });
    const sent = this.entries.get(roundId);
    for (const [member, { digest }] of sent ?? []) sent?.set(member, { member, digest });
    return decisions;
  }

  async deleteRoundsBefore(began: number): Promise<void> {
    for (const [id, round] of this.rounds) {
      if (round.began < began) {
        this.rounds.delete(id);
        this.entries.delete(id);
      }
    }
  }
}
