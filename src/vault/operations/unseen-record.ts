import type { Requester } from '../../access/index.js';
import type { AccessContext, FhirInteraction } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import { recordDenied } from '../audit-trail.js';
import type { GatewayParts } from './gateway-parts.js';

/** The reason a request about a compartment the requester may not see is refused (sealed in the AuditEvent). */
export const NOT_VISIBLE = 'outside the compartments the requester may see';

/** What a request names: a record (its patient from the metadata row, if one was found) and the audit entity. */
export interface NamedRecord {
  readonly resourceType: string;
  readonly id: string;
  /** The compartment of the record's metadata row; undefined when no row was found. */
  readonly patientId: string | undefined;
  readonly entity: string;
}

/**
 * Issue 14 item 5: a requester other than the node's staff (another member, a patient) asking about
 * one record (read, vread, history, `$everything`) is first checked against the compartments it may
 * see at all, from the policy and the ledger index, before any record is opened. A record outside them
 * and a record that does not exist get the same work and the same answer: the same index queries
 * (`visibleCompartments`), no decryption, one denial AuditEvent (in the patient's history when there
 * is a patient, so the patient still sees the attempt; AuditEvents are sealed under the node's key
 * either way), then 404. The node's own staff keep 403 for what exists (they may know it does).
 * Records of no patient are left to the per-resource decision. Returns when the request may go on.
 */
export async function verifyRecordMayBeSeen(
  parts: GatewayParts,
  requester: Requester,
  context: AccessContext,
  interaction: FhirInteraction,
  named: NamedRecord,
): Promise<void> {
  const notFound = () =>
    new CareLedgerError('ERR_NOT_FOUND', `${named.resourceType}/${named.id} does not exist`);
  if (requester.kind === 'staff') {
    if (named.patientId === undefined) throw notFound();
    return;
  }
  const { patientId } = named;
  // A record of no patient (a Practitioner, an Organization) names nobody: its decision is per resource.
  if (patientId === '') return;
  const visible = await parts.gate.visibleCompartments(requester, context, named.resourceType);
  if (patientId !== undefined && (visible.all || visible.patients.has(patientId))) return;
  await recordDenied(parts.store, interaction, context, {
    entity: named.entity,
    patient: patientId ?? '',
    reason: NOT_VISIBLE,
  });
  throw notFound();
}
