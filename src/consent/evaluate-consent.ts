import type { ConsentDecision, ConsentQuery } from '../access/consent-check.js';
import type { ChainIndexStorage, IndexedGrant } from '../sync/index.js';

export type { ConsentDecision, ConsentQuery } from '../access/consent-check.js';

/** True when the grant covers every bit of the asked category and purpose at `at`. */
export function isGrantEffective(
  grant: IndexedGrant,
  query: Omit<ConsentQuery, 'patient' | 'grantee'>,
): boolean {
  return (
    grant.revokedAt === null &&
    query.category !== 0n &&
    query.purpose !== 0n &&
    (grant.categories & query.category) === query.category &&
    (grant.purposes & query.purpose) === query.purpose &&
    grant.notBefore <= query.at &&
    query.at < grant.notAfter
  );
}

/**
 * Decides from the node's ledger index, the same rule as ConsentRegistry.isPermitted: a grant to the
 * grantee itself, or to the organization that attests the grantee as a practitioner (valid at `at`,
 * not revoked, organization still an active member). Returns the most telling reason on denial.
 */
export async function evaluateConsent(
  index: ChainIndexStorage,
  query: ConsentQuery,
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
  for (const { grant, via } of candidates) {
    if (isGrantEffective(grant, query)) return { allowed: true, grantId: grant.grantId, via };
  }
  if (candidates.length === 0) return { allowed: false, reason: 'no-grant' };
  const covering = candidates.filter(
    ({ grant }) =>
      (grant.categories & query.category) === query.category &&
      (grant.purposes & query.purpose) === query.purpose,
  );
  if (covering.length === 0 || query.category === 0n || query.purpose === 0n) {
    return { allowed: false, reason: 'not-covered' };
  }
  if (covering.every(({ grant }) => grant.revokedAt !== null)) return { allowed: false, reason: 'revoked' };
  if (covering.some(({ grant }) => grant.revokedAt === null && query.at < grant.notBefore)) {
    return { allowed: false, reason: 'not-yet-valid' };
  }
  return { allowed: false, reason: 'expired' };
}
