/** The chain index's row shapes and their mappers, shared by the SQLite and the PostgreSQL adapter. */
import type { Address, Hex } from 'viem';
import type {
  IndexedAnchor,
  IndexedEvent,
  IndexedGrant,
  IndexedMember,
  IndexedPractitioner,
  IndexedProposal,
} from '../sync/index-storage.js';

export interface GrantRow {
  grant_id: string;
  patient: string;
  grantee: string;
  terms_hash: string;
  not_before: number;
  not_after: number;
  nonce: string;
  revoked_at: number | null;
  block_number: number;
  tx_hash: string;
}

export interface MemberRow {
  address: string;
  name: string;
  role: number;
  fhir_base_url: string;
  log_origin: string;
  log_verifier_key: string;
  encryption_public_key: string;
  status: 'active' | 'removed';
  admitted_block: number;
}

export interface PractitionerRow {
  address: string;
  organization: string;
  credential_hash: string;
  qualification_code: string;
  expires_at: number;
  /** SQLite stores 0/1, PostgreSQL a boolean. */
  revoked: number | boolean;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export const toPractitioner = (row: PractitionerRow): IndexedPractitioner => ({
  address: row.address as Address,
  organization: row.organization as Address,
  credentialHash: row.credential_hash as Hex,
  qualificationCode: row.qualification_code,
  expiresAt: row.expires_at,
  revoked: row.revoked === 1 || row.revoked === true,
});

export const toGrant = (row: GrantRow): IndexedGrant => ({
  grantId: row.grant_id as Hex,
  patient: row.patient as Address,
  grantee: row.grantee as Address,
  termsHash: row.terms_hash as Hex,
  notBefore: row.not_before,
  notAfter: row.not_after,
  nonce: BigInt(row.nonce),
  revokedAt: row.revoked_at,
  blockNumber: row.block_number,
  txHash: row.tx_hash as Hex,
});

export const toMember = (row: MemberRow): IndexedMember => ({
  address: row.address as Address,
  name: row.name,
  role: row.role,
  fhirBaseUrl: row.fhir_base_url,
  logOrigin: row.log_origin,
  logVerifierKey: row.log_verifier_key,
  encryptionPublicKey: row.encryption_public_key as Hex,
  status: row.status,
  admittedBlock: row.admitted_block,
});

/** Folds ProposalCreated and VoteCast events, oldest first, into proposals (shared with PostgreSQL). */
export function proposalsFromEvents(
  rows: readonly { block_number: number; tx_hash: string; name: string; args: string }[],
): IndexedProposal[] {
  const byId = new Map<string, Mutable<IndexedProposal> & { voters: Address[] }>();
  for (const row of rows) {
    const a = JSON.parse(row.args) as IndexedEvent['args'];
    const id = String(a.proposalId);
    if (row.name === 'ProposalCreated') {
      byId.set(id, {
        id,
        kind: Number(a.kind) === 2 ? 'removal' : 'admission',
        proposer: a.proposer as Address,
        subject: a.subject as Address,
        expiresAt: Number(a.expiresAt),
        votes: 0,
        threshold: 0,
        executed: false,
        voters: [],
        blockNumber: row.block_number,
        txHash: row.tx_hash as Hex,
      });
      continue;
    }
    const proposal = byId.get(id);
    if (proposal === undefined) continue; // a vote's proposal is always created first, in an earlier log
    proposal.voters.push(a.voter as Address);
    proposal.votes = Number(a.votes);
    proposal.threshold = Number(a.threshold);
    proposal.executed = proposal.executed || a.executed === true;
  }
  return [...byId.values()];
}

export interface AnchorRow {
  origin: string;
  tree_size: number;
  root_hash: string;
  note_hash: string;
  member: string;
  anchored_at: number;
  block_number: number;
  tx_hash: string;
}

export const toAnchor = (row: AnchorRow): IndexedAnchor => ({
  origin: row.origin,
  treeSize: row.tree_size,
  rootHash: row.root_hash as Hex,
  noteHash: row.note_hash as Hex,
  member: row.member as Address,
  anchoredAt: row.anchored_at,
  blockNumber: row.block_number,
  txHash: row.tx_hash as Hex,
});
