/**
 * A practitioner's licence as the chain says now, from their ledger account alone (decision 0028):
 * the member attestation of the account (ConsortiumRegistry, in the node's chain index) names the
 * credential by its hash; the board's record of that credential (CredentialStatus) says whom it is
 * about, what qualification, until when, and at which status index; the board must be an admitted
 * issuer and neither status bit set. Every member answers this the same way for any member's
 * practitioner, without a round trip once the per-block caches are warm.
 */
import type { Address, Hex } from 'viem';
import type { CredentialChainIndex, CredentialRecord } from './credential-ledger.js';

/** What the live check needs of a ConsortiumRegistry attestation (IndexedPractitioner). */
export interface AttestationFacts {
  readonly organization: Address;
  readonly credentialHash: Hex;
  readonly expiresAt: number;
  readonly revoked: boolean;
}

export type PractitionerStanding =
  | { readonly valid: true; readonly record: CredentialRecord; readonly credentialHash: Hex }
  | { readonly valid: false; readonly reason: string; readonly record?: CredentialRecord };

export interface StandingSources {
  readonly index: CredentialChainIndex;
  readonly attestation: (account: Address) => Promise<AttestationFacts | undefined>;
}

/** The standing of the practitioner with this ledger account at `now`. Never throws for a refusal. */
export async function evaluatePractitionerStanding(
  account: Address,
  sources: StandingSources,
  now: Date,
): Promise<PractitionerStanding> {
  const seconds = Math.floor(now.getTime() / 1000);
  const attestation = await sources.attestation(account);
  if (attestation === undefined) return { valid: false, reason: 'no-credential (not attested by a member)' };
  if (attestation.revoked) return { valid: false, reason: 'attestation-revoked' };
  if (attestation.expiresAt <= seconds) return { valid: false, reason: 'attestation-expired' };
  const record = await sources.index.credential(attestation.credentialHash);
  if (record === undefined) {
    return { valid: false, reason: 'no-credential (the attested credential is not on the ledger)' };
  }
  const refuse = (reason: string): PractitionerStanding => ({ valid: false, reason, record });
  if (record.subject.toLowerCase() !== account.toLowerCase()) return refuse('wrong-subject');
  if (!(await sources.index.admittedIssuer(record.board))) return refuse('issuer-not-admitted');
  if (seconds < record.validFrom) return refuse('not-yet-valid');
  if (seconds >= record.validUntil) return refuse('expired');
  const status = await sources.index.status(record.board, record.index);
  // Revocation first: a revoked licence says revoked even when also suspended (as verifyCredential).
  if (status.revoked) return refuse('revoked');
  if (status.suspended) return refuse('suspended');
  return { valid: true, record, credentialHash: attestation.credentialHash };
}
