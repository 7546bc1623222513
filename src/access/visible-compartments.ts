import type { Address } from 'viem';
import type { AccessContext } from '../audit/create-audit-event.js';
import { type DataCategory, encodeCategories, encodePurposes, isPurposeOfUse } from '../ledger/index.js';
import type { ConsentCheck } from './consent-check.js';
import { IDENTIFYING_CATEGORIES } from './identification.js';
import { OBSERVATION_DATA_CATEGORIES } from './observation-categories.js';
import { RESOURCE_CATEGORIES } from './resource-categories.js';

/** A grant as the ledger index holds it, as far as listing patients needs (IndexedGrant fits). */
export interface IndexedGrantWindow {
  readonly patient: Address;
  readonly revokedAt: number | null;
  readonly notBefore: number;
  readonly notAfter: number;
}

/** What listing a grantee's patients asks of the node's ledger index (ChainIndexStorage fits). */
export interface GrantIndex {
  grants(filter: { grantee: Address }): Promise<readonly IndexedGrantWindow[]>;
  practitioner(
    address: Address,
  ): Promise<{ organization: Address; revoked: boolean; expiresAt: number } | undefined>;
  member(address: Address): Promise<{ status: string } | undefined>;
}

/**
 * The ledger addresses of the patients with a grant to the grantee (or to the organization that
 * attests it as a practitioner, as evaluateConsent counts) that is not revoked and in its time window at
 * `at` (Unix seconds). What each grant covers is not read here: the policy asks `consent` for that.
 */
export type GrantingPatients = (grantee: Address, at: number) => Promise<readonly Address[]>;

/** GrantingPatients over the node's ledger index: one index query per grantee, no record touched. */
export async function listGrantingPatients(
  index: GrantIndex,
  grantee: Address,
  at: number,
): Promise<Address[]> {
  const grantees = [grantee];
  const practitioner = await index.practitioner(grantee);
  if (practitioner !== undefined && !practitioner.revoked && at < practitioner.expiresAt) {
    if ((await index.member(practitioner.organization))?.status === 'active')
      grantees.push(practitioner.organization);
  }
  const patients = new Map<string, Address>();
  for (const who of grantees) {
    for (const grant of await index.grants({ grantee: who })) {
      if (grant.revokedAt === null && grant.notBefore <= at && at < grant.notAfter)
        patients.set(grant.patient.toLowerCase(), grant.patient);
    }
  }
  return [...patients.values()];
}

/**
 * The compartments (patients) whose records of one type a requester may possibly see, decided before
 * a search touches any candidate: every compartment, or the listed patients (by id, and by ledger
 * address for the vault to resolve through its blind index), with or without the records of no patient.
 * It is a bound, not the decision: each record is still judged on its content (evaluateResource).
 */
export type CompartmentScope =
  | { readonly all: true }
  | {
      readonly all: false;
      readonly patientIds: readonly string[];
      readonly ledgerAddresses: readonly Address[];
      /** Whether records of no patient (compartment '') may be seen. */
      readonly noPatient: boolean;
    };

/** The requester as the policy parses it (Requester in access-policy.ts, which imports this file). */
type CompartmentRequester =
  | { readonly kind: 'staff'; readonly roles: readonly string[] }
  | { readonly kind: 'patient'; readonly patientId: string }
  | { readonly kind: 'member'; readonly address: Address }
  | { readonly kind: 'unknown' };

const NONE: Extract<CompartmentScope, { all: false }> = {
  all: false,
  patientIds: [],
  ledgerAddresses: [],
  noPatient: false,
};

/**
 * The categories a record of this type always has (one of them; sensitivity labels add more), or null
 * for directory types, which another member may see without consent (categorizeResource).
 */
function baseCategories(resourceType: string): readonly DataCategory[] | null {
  // A member holding any grant from the patient may identify them (identification.ts): the Patient's
  // compartment is open to it, though the Patient's own content still needs "Demographics".
  if (resourceType === 'Patient') return IDENTIFYING_CATEGORIES;
  if (resourceType === 'Observation') return OBSERVATION_DATA_CATEGORIES;
  if (resourceType === 'DiagnosticReport') return ['imaging', 'laboratory'];
  if (!Object.hasOwn(RESOURCE_CATEGORIES, resourceType)) return ['clinical-notes'];
  const category = RESOURCE_CATEGORIES[resourceType as keyof typeof RESOURCE_CATEGORIES];
  return category === null || category === 'by-content' ? null : [category];
}

/**
 * Issue 14 item 5 and issue 16: who a search may see, from the requester alone and the ledger index,
 * never from the records. A patient: their own compartment. Another member: the patients whose grant
 * to it, in force now, covers the purpose and one of the categories records of the type always carry
 * (a record of no patient is never shared with a member; directory types are open to it). The node's
 * staff: every compartment (they may know what their organisation holds), but AuditEvents only for the
 * privacy officer. Without `grantingPatients` a member's search is not bounded (each record is still
 * judged on its content).
 */
export async function evaluateVisibleCompartments(
  requester: CompartmentRequester,
  context: AccessContext,
  resourceType: string,
  options: { consent: ConsentCheck; grantingPatients?: GrantingPatients; now: Date },
): Promise<CompartmentScope> {
  switch (requester.kind) {
    case 'patient':
      return { ...NONE, patientIds: [requester.patientId] };
    case 'staff':
      if (resourceType === 'AuditEvent' && !requester.roles.includes('privacy-officer')) return NONE;
      return { all: true };
    case 'member': {
      if (resourceType === 'AuditEvent' || !isPurposeOfUse(context.purpose)) return NONE;
      const categories = baseCategories(resourceType);
      if (categories === null || options.grantingPatients === undefined) return { all: true };
      const at = Math.floor(options.now.getTime() / 1000);
      const purpose = encodePurposes([context.purpose]);
      const ledgerAddresses: Address[] = [];
      for (const patient of await options.grantingPatients(requester.address, at)) {
        for (const category of categories) {
          const decision = await options.consent({
            patient,
            grantee: requester.address,
            category: encodeCategories([category]),
            purpose,
            at,
          });
          if (decision.allowed) {
            ledgerAddresses.push(patient);
            break;
          }
        }
      }
      return { ...NONE, ledgerAddresses };
    }
    default:
      return NONE;
  }
}
