import type { Hex } from 'viem';
import type { LedgerKeyChallenge } from '../identity/ledger-key-proof.js';

/** A challenge as the node keeps it: what was signed, who asked for it, and when it was used. */
export interface StoredLedgerKeyChallenge extends LedgerKeyChallenge {
  /** Unix seconds. */
  readonly issuedAt: number;
  /** The requester who asked for it (`Practitioner/…` at the desk, or `Patient/…` in the portal). */
  readonly requestedBy: string;
  /** Unix seconds; absent while unused. */
  readonly usedAt?: number;
}

/**
 * The node's record of the challenges it issued (the storage interface of key enrolment; SQLite in
 * src/storage/sqlite/sqlite-ledger-key-challenge-store.ts). A challenge is used once: `consume` is
 * atomic, so of two requests with the same challenge exactly one links the key.
 */
export interface LedgerKeyChallengeStore {
  insert(challenge: StoredLedgerKeyChallenge): Promise<void>;
  get(nonce: Hex): Promise<StoredLedgerKeyChallenge | undefined>;
  /** Marks the challenge used at `at`; false if it was already used (or never issued). */
  consume(nonce: Hex, at: number): Promise<boolean>;
}
