import type { AccessContext, FhirInteraction } from '../audit/create-audit-event.js';

/** What a requester may touch: everything this node holds, or one patient's compartment. */
export type AccessScope = { readonly kind: 'all' } | { readonly kind: 'patient'; readonly patientId: string };

export type AccessDecision =
  | { readonly allowed: true; readonly scope: AccessScope }
  | { readonly allowed: false; readonly reason: string };

const READS: ReadonlySet<FhirInteraction> = new Set([
  'read',
  'vread',
  'history-instance',
  'history-type',
  'search-type',
]);

/**
 * The node's interim local policy, until SMART on FHIR scopes and cross-member consent arrive (Cores 4
 * and 5): the node's own staff (a Practitioner identity) may use every interaction; a patient may
 * read their own compartment only; anyone else is refused. The decision is a value; the vault records
 * it in an AuditEvent either way.
 */
export function evaluateAccess(context: AccessContext, interaction: FhirInteraction): AccessDecision {
  const [type, id] = context.who.split('/');
  if (type === 'Practitioner') return { allowed: true, scope: { kind: 'all' } };
  if (type === 'Patient' && id !== undefined && id !== '') {
    if (!READS.has(interaction)) {
      return { allowed: false, reason: 'a patient may read their own records here, not change them' };
    }
    return { allowed: true, scope: { kind: 'patient', patientId: id } };
  }
  return {
    allowed: false,
    reason: 'member-to-member access needs SMART Backend Services, not available yet',
  };
}
