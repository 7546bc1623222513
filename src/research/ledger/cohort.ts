import type { Address, Hex } from 'viem';
import { type ConsentOpeningStore, evaluateOpening } from '../../consent/consent-opening.js';
import { type DelegationInForce, recoverGrantSigner } from '../../consent/grant-signer.js';
import { encodeCategories, encodePurposes } from '../../ledger/codes.js';
import type { ChainIndexStorage, IndexedGrant } from '../../sync/index.js';
import { GENERAL_RESEARCH_ADDRESS, type Study, studyGrantee } from '../study.js';
import { studyCreditAddress } from './credit-address.js';

/** A patient in a study's cohort at this node. */
export interface ConsentingPatient {
  /** The patient's ledger address (pseudonymous) that signed, or was signed for, the grant. */
  readonly patient: Address;
  /** The local Patient ids carrying that address. */
  readonly patientIds: readonly string[];
  /** The grant that put them in: one to the study itself is preferred over one to research in general. */
  readonly grantId: Hex;
  /** Where their credits for this study go (decision 0024): put this in ReleaseAnchor.contributors. */
  readonly creditAddress: Address;
}

export interface CohortDeps {
  readonly index: Pick<ChainIndexStorage, 'grants'>;
  readonly openings: Pick<ConsentOpeningStore, 'load'>;
  /** Local Patient ids with this ledger address (the vault's identifier search). */
  readonly localPatientIds: (address: Address) => Promise<readonly string[]>;
  /** Unix seconds of a block, which decides the grants' windows and revocations. */
  readonly blockTimestamp: (block: bigint) => Promise<number>;
  /** Without it, a grant a delegate signed counts for nothing (decision 0021). */
  readonly delegationInForce?: DelegationInForce;
}

const HRESCH = encodePurposes(['HRESCH']);

/**
 * The local patients whose consent to `study`, or to research in general, is in force at block
 * `atBlock`: a grant mined at or before the block, to {@link studyGrantee}(study.id) or
 * {@link GENERAL_RESEARCH_ADDRESS}, whose opening this node holds and which matches its on-chain
 * commitment, covering purpose HRESCH and every category of the study, with the block's time inside
 * its window and no revocation at or before that time. Nobody else: there is no default membership.
 * The index keeps a revocation's time, not its block, so a revocation in the same second as the
 * block counts as before it (the cautious side). Sorted by patient address.
 */
export async function consentingPatients(
  deps: CohortDeps,
  study: Pick<Study, 'id' | 'categories'>,
  atBlock: bigint,
): Promise<ConsentingPatient[]> {
  const at = await deps.blockTimestamp(atBlock);
  const categories = encodeCategories(study.categories);
  if (categories === 0n) return [];
  const studyAddress = studyGrantee(study.id).toLowerCase();
  const grants = [
    ...(await deps.index.grants({ grantee: studyGrantee(study.id) })),
    ...(await deps.index.grants({ grantee: GENERAL_RESEARCH_ADDRESS })),
  ]
    .filter((g) => BigInt(g.blockNumber) <= atBlock && isInForceAt(g, at))
    // Study grants first, then oldest first: every member holding the same openings picks the same grant.
    .sort(
      (a, b) =>
        Number(b.grantee.toLowerCase() === studyAddress) - Number(a.grantee.toLowerCase() === studyAddress) ||
        a.blockNumber - b.blockNumber ||
        (a.grantId < b.grantId ? -1 : 1),
    );
  const chosen = new Map<string, ConsentingPatient>();
  for (const grant of grants) {
    const key = grant.patient.toLowerCase();
    if (chosen.has(key)) continue;
    const opening = await deps.openings.load(grant.grantId);
    if (opening === undefined || evaluateOpening(grant, opening) !== undefined) continue;
    const terms = opening.grant;
    if ((terms.purposes & HRESCH) !== HRESCH || (terms.categories & categories) !== categories) continue;
    const signer = await recoverGrantSigner(opening);
    if (
      signer.toLowerCase() !== key &&
      (await deps.delegationInForce?.(grant.patient, signer, at)) !== true
    ) {
      continue;
    }
    const patientIds = await deps.localPatientIds(grant.patient);
    if (patientIds.length === 0) continue;
    chosen.set(key, {
      patient: grant.patient,
      patientIds: [...patientIds],
      grantId: grant.grantId,
      creditAddress: studyCreditAddress(study.id, terms.salt),
    });
  }
  return [...chosen.values()].sort((a, b) => (a.patient.toLowerCase() < b.patient.toLowerCase() ? -1 : 1));
}

function isInForceAt(grant: IndexedGrant, at: number): boolean {
  return grant.notBefore <= at && at < grant.notAfter && (grant.revokedAt === null || grant.revokedAt > at);
}

/** {@link consentingPatients} bound to a node's stores: what the release pipeline calls. */
export function createCohort(deps: CohortDeps) {
  return {
    consentingPatients: (study: Pick<Study, 'id' | 'categories'>, atBlock: bigint) =>
      consentingPatients(deps, study, atBlock),
  };
}
