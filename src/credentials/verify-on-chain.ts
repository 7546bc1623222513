/**
 * Verifying a licence credential against the ledger (decision 0018): the issuer must be a board the
 * consortium admitted (an active licensing-board member) whose registered key signed the credential,
 * and both status bits come from the chain as of the last block the index synced.
 */
import type { CredentialChainIndex } from './credential-ledger.js';
import type { PractitionerLicenseCredential } from './practitioner-credential.js';
import { decodeCredentialJwt, type IssuerKey, type StatusListSnapshot, verifyCredential } from './vc-jwt.js';

export interface VerifyOnChainOptions {
  readonly index: CredentialChainIndex;
  readonly now: Date;
  /** The did:pkh of the practitioner presenting it. */
  readonly expectedSubject?: string;
}

/** The one status bit the chain holds for a credential entry, as a snapshot verifyCredential reads. */
function snapshotOf(purpose: StatusListSnapshot['statusPurpose'], index: number, set: boolean) {
  const bitstring = new Uint8Array(Math.floor(index / 8) + 1);
  if (set) bitstring[Math.floor(index / 8)] = 0x80 >> (index % 8);
  return { statusPurpose: purpose, bitstring };
}

/**
 * Resolves the issuer and status from the chain index, then runs verifyCredential (same refusal
 * reasons). A malformed credential is refused before anything is read.
 */
export async function verifyCredentialOnChain(
  jwt: string,
  options: VerifyOnChainOptions,
): Promise<PractitionerLicenseCredential> {
  const { credential } = decodeCredentialJwt(jwt);
  const issuer = await options.index.issuer(credential.issuer);
  const issuerKeys = new Map<string, readonly IssuerKey[]>();
  const statusLists = new Map<string, StatusListSnapshot>();
  if (issuer?.admitted && issuer.key !== undefined) {
    issuerKeys.set(credential.issuer, [issuer.key]);
    for (const entry of credential.credentialStatus) {
      const index = Number(entry.statusListIndex);
      const status = await options.index.status(issuer.board, index);
      const set = entry.statusPurpose === 'revocation' ? status.revoked : status.suspended;
      statusLists.set(entry.statusListCredential, snapshotOf(entry.statusPurpose, index, set));
    }
  }
  return verifyCredential(jwt, {
    issuerKeys,
    statusLists,
    now: options.now,
    ...(options.expectedSubject === undefined ? {} : { expectedSubject: options.expectedSubject }),
  });
}
