/**
 * How a recall reaches one patient at a member (issue 19 item 6): a portal notification, a FHIR
 * Communication to the patient, and for the prescriber of the dispense a DetectedIssue and a portal
 * notification. The resources are written through the vault like any record (sealed, logged, audited)
 * by the node's recall service, which acts as a staff member of its own.
 */
import type { Communication, DetectedIssue, Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../../audit/create-audit-event.js';
import type { DispenseRecord } from '../storage/supply-store.js';
import type { Recall } from './recall-service.js';

/** A portal notification (ids and a fixed sentence only: no PHI beyond what the recipient owns). */
export interface SupplyNotification {
  readonly recipient: string;
  readonly message: string;
  readonly subject: string;
}

export interface ReachPatientDeps {
  readonly create: (resource: Resource, context: AccessContext) => Promise<Resource>;
  readonly notify: (notification: SupplyNotification) => void | Promise<void>;
  readonly organization: string;
  readonly now?: () => Date;
}

/** The identity the recall service writes as: audited under this name in the patient's access history. */
export const RECALL_SERVICE_IDENTITY = 'Practitioner/careledger-recall-service';

export function createReachPatient(deps: ReachPatientDeps) {
  const context: AccessContext = {
    who: RECALL_SERVICE_IDENTITY,
    organization: deps.organization,
    purpose: 'TREAT',
    roles: ['clinician'],
  };
  return async function reachPatient(dispense: DispenseRecord, recall: Recall): Promise<void> {
    const now = (deps.now?.() ?? new Date()).toISOString();
    const device = dispense.resourceType === 'Device';
    const dispenseRef = `${device ? 'Device' : 'MedicationDispense'}/${dispense.medicationDispenseId}`;
    const patientRef = `Patient/${dispense.patientId}`;
    // In words (issue 22): the dispense's id is the notification's subject and the Communication's `about`.
    const date = new Date(dispense.dispensedAt).toLocaleDateString('en-GB', {
      timeZone: 'UTC',
      day: 'numeric',
      month: 'long',
      year: 'numeric',
    });
    const text = device
      ? `Recall notice: the medical device recorded as implanted or given to you on ${date} has been recalled by its manufacturer. Contact your care team about what to do.`
      : `Recall notice: the medicine pack dispensed to you on ${date} has been recalled by its manufacturer. Do not use it; contact your pharmacy.`;
    const communication: Communication = {
      resourceType: 'Communication',
      status: 'completed',
      category: [{ text: device ? 'device recall' : 'medication recall' }],
      priority: 'urgent',
      subject: { reference: patientRef },
      recipient: [{ reference: patientRef }],
      about: [{ reference: dispenseRef }],
      sent: now,
      payload: [{ contentString: text }],
      identifier: [
        { system: 'urn:careledger:supply-recall', value: `${recall.id}:${dispense.medicationDispenseId}` },
      ],
    };
    await deps.create(communication, context);
    await deps.notify({ recipient: patientRef, message: text, subject: dispenseRef });
    if (dispense.prescriber === undefined) return;
    const issue: DetectedIssue = {
      resourceType: 'DetectedIssue',
      status: 'final',
      severity: 'high',
      code: { text: device ? 'Device recall' : 'Medication recall' },
      patient: { reference: patientRef },
      identifiedDateTime: now,
      implicated: [{ reference: dispenseRef }],
      detail: `The manufacturer recalled the ${recall.kind === 'lot' ? 'lot' : 'unit'} of the ${device ? 'device recorded' : 'medicine dispensed'} in ${dispenseRef}; the patient was notified.`,
    };
    const stored = await deps.create(issue, context);
    await deps.notify({
      recipient: dispense.prescriber,
      message: `A ${device ? 'device you recorded' : 'medicine you prescribed'} was recalled by its manufacturer and the patient was told. The issue is in their chart.`,
      subject: `DetectedIssue/${stored.id}`,
    });
  };
}
