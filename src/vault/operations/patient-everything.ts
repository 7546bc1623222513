import type { Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { AddressMemo } from '../access-gate.js';
import { recordDenied } from '../audit-trail.js';
import type { GatewayParts } from './gateway-parts.js';
import { verifyRecordMayBeSeen } from './unseen-record.js';

/**
 * Patient/{id}/$everything (R4 §Patient-operation-everything): the patient and every current resource
 * of the served types in their compartment, audited as one operation. Another member whose grant does
 * not cover "Demographics" gets the records it covers without the Patient.
 */
export async function readPatientEverything(
  parts: GatewayParts,
  patientId: string,
  context: AccessContext,
  types: readonly string[],
): Promise<Resource[]> {
  const current = await parts.store.storage.current('Patient', patientId);
  const entity = `Patient/${patientId}/$everything`;
  const requester = await parts.gate.admit('operation', context, {
    entity,
    ...(current === undefined ? {} : { patient: patientId }),
    resourceType: 'Patient',
  });
  // Another member or a patient: a patient it may not see costs what a made-up one costs, 404 both.
  await verifyRecordMayBeSeen(parts, requester, context, 'operation', {
    resourceType: 'Patient',
    id: patientId,
    patientId: current?.patientId,
    entity,
  });
  if (current === undefined)
    throw new CareLedgerError('ERR_NOT_FOUND', `Patient/${patientId} does not exist`);
  if (current.deleted) throw new CareLedgerError('ERR_GONE', `Patient/${patientId} was deleted`);
  const memo: AddressMemo = new Map();
  const patient = await parts.store.open(current);
  const first = await parts.gate.decide(requester, context, 'operation', patientId, patient, memo);
  // Another member past the compartment check holds a grant from the patient, so it may identify
  // them (src/access/identification.ts): without "Demographics" it gets the granted records, not the
  // Patient's content.
  const identifiedOnly = !first.allowed && requester.kind === 'member';
  if (!first.allowed && !identifiedOnly) {
    if (requester.kind !== 'staff') {
      await recordDenied(parts.store, 'operation', context, {
        entity,
        patient: patientId,
        reason: first.reason,
      });
      throw new CareLedgerError('ERR_NOT_FOUND', `Patient/${patientId} does not exist`);
    }
    await parts.gate.refuse('operation', context, { entity, patient: patientId, reason: first.reason });
  }
  let breakGlass = first.allowed && first.breakGlass;
  const resources: Resource[] = identifiedOnly ? [] : [parts.store.served(patient, current, context)];
  for (const type of types) {
    if (type === 'Patient') continue;
    for (const version of await parts.store.storage.listCurrent(type, { patientId })) {
      const resource = await parts.store.open(version);
      const decision = await parts.gate.decide(requester, context, 'operation', patientId, resource, memo);
      if (!decision.allowed) continue;
      breakGlass ||= decision.breakGlass;
      resources.push(parts.store.served(resource, version, context));
    }
  }
  await parts.store.commit([], {
    interaction: 'operation',
    context,
    entity,
    patient: patientId,
    breakGlass,
  });
  return resources;
}
