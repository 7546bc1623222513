import type { Address, Hex } from 'viem';

/** A contract event as the index keeps it: JSON-safe args (bigints as decimal strings). */
export interface IndexedEvent {
  readonly blockNumber: number;
  readonly blockHash: Hex;
  readonly logIndex: number;
  readonly txHash: Hex;
  readonly contract: 'registry' | 'consent' | 'anchor' | 'locator';
  readonly name: string;
  readonly args: Readonly<Record<string, string | number | boolean>>;
}

export interface BlockRef {
  readonly number: number;
  readonly hash: Hex;
}

export interface IndexedMember {
  readonly address: Address;
  readonly name: string;
  readonly role: number;
  readonly fhirBaseUrl: string;
  readonly logOrigin: string;
  readonly logVerifierKey: string;
  readonly encryptionPublicKey: Hex;
  readonly status: 'active' | 'removed';
  readonly admittedBlock: number;
}

export interface IndexedGrant {
  readonly grantId: Hex;
  readonly patient: Address;
  readonly grantee: Address;
  /**
   * The salted commitment to the grant's terms (EIP-712 hashStruct of Terms: categories, purposes,
   * salt). What the grant covers is known only from its opening (decision 0013).
   */
  readonly termsHash: Hex;
  readonly notBefore: number;
  readonly notAfter: number;
  readonly nonce: bigint;
  readonly revokedAt: number | null;
  readonly blockNumber: number;
  readonly txHash: Hex;
}

export interface IndexedPractitioner {
  readonly address: Address;
  readonly organization: Address;
  readonly credentialHash: Hex;
  readonly qualificationCode: string;
  readonly expiresAt: number;
  readonly revoked: boolean;
}

/**
 * A ConsortiumRegistry admission or removal proposal, folded from its ProposalCreated and VoteCast
 * events (the index keeps both in chain_events; no chain read is needed).
 */
export interface IndexedProposal {
  /** The proposal id, decimal. */
  readonly id: string;
  readonly kind: 'admission' | 'removal';
  readonly proposer: Address;
  /** The account to admit or remove. */
  readonly subject: Address;
  /** Unix seconds after which no more votes are accepted. */
  readonly expiresAt: number;
  readonly votes: number;
  /** The effective threshold (min(k, active members)) when the latest vote was cast. */
  readonly threshold: number;
  readonly executed: boolean;
  /** The members who voted, in the order they voted (the proposer first). */
  readonly voters: readonly Address[];
  readonly blockNumber: number;
  readonly txHash: Hex;
}

export interface IndexedAnchor {
  readonly origin: string;
  readonly treeSize: number;
  readonly rootHash: Hex;
  readonly noteHash: Hex;
  readonly member: Address;
  readonly anchoredAt: number;
  readonly blockNumber: number;
  readonly txHash: Hex;
}

/**
 * The node's index of ledger events. Writes are atomic per batch; a rollback removes every event
 * above a block and rebuilds the derived tables, so a re-org or a chain restored from an older
 * snapshot leaves no trace of the blocks that vanished.
 */
export interface ChainIndexStorage {
  cursor(): Promise<BlockRef | undefined>;
  /** Indexed block references, highest first. */
  recentBlocks(limit: number): Promise<BlockRef[]>;
  applyBatch(batch: {
    events: readonly IndexedEvent[];
    blocks: readonly BlockRef[];
    cursor: BlockRef;
  }): Promise<void>;
  rollbackTo(block: BlockRef | undefined): Promise<void>;

  members(): Promise<IndexedMember[]>;
  member(address: Address): Promise<IndexedMember | undefined>;
  grants(filter: {
    patient?: Address;
    grantee?: Address;
    grantIds?: readonly Hex[];
  }): Promise<IndexedGrant[]>;
  grant(grantId: Hex): Promise<IndexedGrant | undefined>;
  practitioner(address: Address): Promise<IndexedPractitioner | undefined>;
  /** Attested practitioners (revoked and expired included), optionally of one organization. */
  practitioners(filter?: { organization?: Address }): Promise<IndexedPractitioner[]>;
  /** Every admission and removal proposal, oldest first. */
  proposals(): Promise<IndexedProposal[]>;
  anchors(origin: string): Promise<IndexedAnchor[]>;
  /**
   * The members with a RecordLocator pointer for `patient` (a pseudonymous ledger address), in the
   * order they announced it; removed members included (callers check membership when it matters).
   */
  recordLocations(patient: Address): Promise<Address[]>;
  eventCount(): Promise<number>;
}
