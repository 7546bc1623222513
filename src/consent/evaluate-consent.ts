import type { ConsentDecision, ConsentQuery } from '../access/consent-check.js';
import type { ConsentGrant } from '../ledger/eip712.js';
import type { ChainIndexStorage, IndexedGrant } from '../sync/index.js';
import {
  type ConsentOpening,
  type ConsentOpeningStore,
  evaluateOpening,
  type OpeningFault,
} from './consent-opening.js';
import { type DelegationInForce, recoverGrantSigner } from './grant-signer.js';

export type { ConsentDecision, ConsentQuery } from '../access/consent-check.js';

/** What a grant covers, from its opening (the chain holds only a commitment to it). */
export type GrantTerms = Pick<ConsentGrant, 'categories' | 'purposes'>;

/** True when the grant, with these terms, covers every bit of the asked category and purpose at `at`. */
export function isGrantEffective(
  grant: IndexedGrant,
  terms: GrantTerms,
  query: Omit<ConsentQuery, 'patient' | 'grantee'>,
): boolean {
  return (
    grant.revokedAt === null &&
    query.category !== 0n &&
    query.purpose !== 0n &&
    (terms.categories & query.category) === query.category &&
    (terms.purposes & query.purpose) === query.purpose &&
    grant.notBefore <= query.at &&
    query.at < grant.notAfter
  );
}

export interface EvaluateConsentOptions {
  /**
   * Whether a delegate's delegation is in force (ConsentRegistry.isDelegate). Without it, a grant a
   * delegate signed grants nothing: only a patient's own grants count.
   */
  readonly delegationInForce?: DelegationInForce;
}

/**
 * Decides from the node's ledger index and the openings it holds: a grant to the grantee itself, or to
 * the organization that attests the grantee as a practitioner (valid at `at`, not revoked, organization
 * still an active member), whose opening matches its on-chain commitment (decision 0013) and covers
 * the request. A grant whose opening this node lacks, or whose opening does not match, grants nothing
 * (fail closed); so does a grant a proxy or guardian signed once their delegation is no longer in force
 * (revoked or out of its window, decision 0021). When nothing else decides, the denial names that
 * fault. Returns the most telling reason on denial.
 */
export async function evaluateConsent(
  index: ChainIndexStorage,
  openings: ConsentOpeningStore,
  query: ConsentQuery,
  options: EvaluateConsentOptions = {},
): Promise<ConsentDecision> {
  const candidates: { grant: IndexedGrant; via: 'grantee' | 'organization' }[] = (
    await index.grants({ patient: query.patient, grantee: query.grantee })
  ).map((grant) => ({ grant, via: 'grantee' }));
  const practitioner = await index.practitioner(query.grantee);
  if (practitioner !== undefined && !practitioner.revoked && query.at < practitioner.expiresAt) {
    const organization = await index.member(practitioner.organization);
    if (organization?.status === 'active') {
      for (const grant of await index.grants({
        patient: query.patient,
        grantee: practitioner.organization,
      })) {
        candidates.push({ grant, via: 'organization' });
      }
    }
  }
  if (candidates.length === 0) return { allowed: false, reason: 'no-grant' };
  const opened: { grant: IndexedGrant; terms: GrantTerms; via: 'grantee' | 'organization' }[] = [];
  const faults: (OpeningFault | 'delegation-not-in-force')[] = [];
  for (const { grant, via } of candidates) {
    const opening = await openings.load(grant.grantId);
    const fault = evaluateOpening(grant, opening);
    if (fault !== undefined || opening === undefined) faults.push(fault ?? 'opening-missing');
    else if (!(await isSignerInForce(opening, query.at, options))) faults.push('delegation-not-in-force');
    else opened.push({ grant, terms: opening.grant, via });
  }
  for (const { grant, terms, via } of opened) {
    if (isGrantEffective(grant, terms, query)) return { allowed: true, grantId: grant.grantId, via };
  }
  const covering = opened.filter(
    ({ terms }) =>
      (terms.categories & query.category) === query.category &&
      (terms.purposes & query.purpose) === query.purpose,
  );
  if (covering.length === 0 || query.category === 0n || query.purpose === 0n) {
    // A grant this node cannot open might have covered the request: say so rather than "not covered".
    if (faults.includes('opening-mismatch')) return { allowed: false, reason: 'opening-mismatch' };
    if (faults.includes('opening-missing')) return { allowed: false, reason: 'opening-missing' };
    if (faults.length > 0) return { allowed: false, reason: 'delegation-not-in-force' };
    return { allowed: false, reason: 'not-covered' };
  }
  if (covering.every(({ grant }) => grant.revokedAt !== null)) return { allowed: false, reason: 'revoked' };
  if (covering.some(({ grant }) => grant.revokedAt === null && query.at < grant.notBefore)) {
    return { allowed: false, reason: 'not-yet-valid' };
  }
  return { allowed: false, reason: 'expired' };
}

/** The patient signed the grant, or a delegate whose delegation is in force at `at` (decision 0021). */
async function isSignerInForce(
  opening: ConsentOpening,
  at: number,
  options: EvaluateConsentOptions,
): Promise<boolean> {
  const signer = await recoverGrantSigner(opening);
  if (signer.toLowerCase() === opening.grant.patient.toLowerCase()) return true;
  return (await options.delegationInForce?.(opening.grant.patient, signer, at)) === true;
}
