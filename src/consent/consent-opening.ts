import type { Address, Hex } from 'viem';
import { computeTermsHash } from '../ledger/eip712.js';
import type { IndexedGrant } from '../sync/index.js';
import type { SignedGrant } from './parse-signed-consent.js';

/**
 * The opening of a grant's on-chain commitment (decision 0013): the full terms the patient signed
 * (categories, purposes, salt, with the grant's other fields) and the signature. It is health
 * information (a grant of `hiv` says the patient has some), so it never goes on chain: it travels off
 * chain to the members that enforce the grant, each of which keeps it sealed at rest.
 */
export type ConsentOpening = SignedGrant;

/** Where a node keeps the openings it holds, sealed at rest. Implemented by a storage adapter. */
export interface ConsentOpeningStore {
  /** Idempotent: saving the same grant's opening again changes nothing. */
  save(opening: ConsentOpening): Promise<void>;
  load(grantId: Hex): Promise<ConsentOpening | undefined>;
  /** The grant ids whose openings this node holds for a patient (a pseudonymous ledger address). */
  grantIdsOf(patient: Address): Promise<Hex[]>;
}

/** Why an opening cannot be used for a grant on the ledger. */
export type OpeningFault = 'opening-missing' | 'opening-mismatch';

/**
 * Checks an opening against the grant as the ledger recorded it: the salted hash of its terms must be
 * the on-chain commitment, and every other field the grant's. The grant id on chain is the EIP-712
 * digest the patient signed over all of these, so a matching opening carries what the patient signed;
 * any other salt or term gives another hash. Returns the fault, or undefined when it matches.
 */
export function evaluateOpening(
  grant: IndexedGrant,
  opening: ConsentOpening | undefined,
): OpeningFault | undefined {
  if (opening === undefined) return 'opening-missing';
  const g = opening.grant;
  const matches =
    opening.grantId.toLowerCase() === grant.grantId.toLowerCase() &&
    computeTermsHash(g).toLowerCase() === grant.termsHash.toLowerCase() &&
    g.patient.toLowerCase() === grant.patient.toLowerCase() &&
    g.grantee.toLowerCase() === grant.grantee.toLowerCase() &&
    g.notBefore === BigInt(grant.notBefore) &&
    g.notAfter === BigInt(grant.notAfter) &&
    g.nonce === grant.nonce;
  return matches ? undefined : 'opening-mismatch';
}

/** Openings in memory (tests, tools); a node keeps them sealed in its database. */
export class MemoryConsentOpeningStore implements ConsentOpeningStore {
  private readonly openings = new Map<string, ConsentOpening>();

  async save(opening: ConsentOpening): Promise<void> {
    this.openings.set(opening.grantId.toLowerCase(), opening);
  }

  async load(grantId: Hex): Promise<ConsentOpening | undefined> {
    return this.openings.get(grantId.toLowerCase());
  }

  async grantIdsOf(patient: Address): Promise<Hex[]> {
    return [...this.openings.values()]
      .filter((o) => o.grant.patient.toLowerCase() === patient.toLowerCase())
      .map((o) => o.grantId);
  }
}
