/**
 * The care team's answer to an amendment request (45 CFR 164.526): accept (the record is written as
 * a new version that names the request, so its history shows the amendment) or deny with a reason
 * (the record gets a version that links the denial, 164.526(d)(4), and the Task tells the patient of
 * their right to file a statement of disagreement, 164.526(d)(1)(iii)). Both go through the vault's
 * access-checked, audited writes with the clinician's own access context.
 */
import type { Extension, Resource, Task } from '@medplum/fhirtypes';
import { PATIENT_REQUEST_SYSTEM } from '../access/patient-requests.js';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import type { FhirRepository } from '../vault/fhir-repository.js';

/** On an amended (or amendment-denied) record: the request Task and its outcome. */
export const AMENDMENT_EXTENSION = 'https://careledger.dev/fhir/StructureDefinition/amendment';

export const DISAGREEMENT_RIGHT =
  'You may file a written statement disagreeing with this decision; it will be kept with the record ' +
  'and included whenever the record is disclosed. You may instead ask that your request and this ' +
  'denial be included with any future disclosure of the record. You may also complain to our privacy ' +
  'officer or to the Secretary of Health and Human Services.';

export type AmendmentRepository = Pick<FhirRepository, 'read' | 'update'>;

export type AmendmentDecision =
  | { readonly decision: 'accept'; readonly amended: Resource; readonly note?: string }
  | { readonly decision: 'deny'; readonly reason: string };

export interface AmendmentOutcome {
  readonly task: Task;
  /** `Type/id/_history/v` of the record's version that carries the outcome. */
  readonly recordVersion: string;
}

const OPEN = new Set(['requested', 'received', 'accepted', 'in-progress', 'ready']);

function amendmentExtension(taskId: string, outcome: 'accepted' | 'denied'): Extension {
  return {
    url: AMENDMENT_EXTENSION,
    extension: [
      { url: 'request', valueReference: { reference: `Task/${taskId}` } },
      { url: 'outcome', valueCode: outcome },
    ],
  };
}

function withExtension(resource: Resource, extension: Extension): Resource {
  const r = resource as Resource & { extension?: Extension[] };
  return { ...r, extension: [...(r.extension ?? []), extension] } as Resource;
}

export async function decideAmendment(
  repository: AmendmentRepository,
  taskId: string,
  decision: AmendmentDecision,
  context: AccessContext,
  now: Date,
): Promise<AmendmentOutcome> {
  const task = (await repository.read('Task', taskId, context)) as Task;
  const isAmendment = task.code?.coding?.some(
    (c) => c.system === PATIENT_REQUEST_SYSTEM && c.code === 'amendment-request',
  );
  if (!isAmendment) throw new CareLedgerError('ERR_INVALID_INPUT', 'the Task is not an amendment request');
  if (!OPEN.has(task.status ?? '')) {
    throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'the amendment request has already been decided');
  }
  const focus = task.focus?.reference ?? '';
  const [type = '', id = ''] = focus.split('/');
  const current = await repository.read(type, id, context);

  let written: Resource;
  if (decision.decision === 'accept') {
    const amended = decision.amended;
    if (amended.resourceType !== type || amended.id !== id) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'the amended record must be the record the request is about',
      );
    }
    written = (
      await repository.update(withExtension(amended, amendmentExtension(taskId, 'accepted')), context)
    ).resource;
  } else {
    written = (await repository.update(withExtension(current, amendmentExtension(taskId, 'denied')), context))
      .resource;
  }
  const recordVersion = `${type}/${id}/_history/${written.meta?.versionId ?? ''}`;
  const decided: Task = {
    ...task,
    status: decision.decision === 'accept' ? 'completed' : 'rejected',
    businessStatus: { text: decision.decision === 'accept' ? 'Amendment accepted' : 'Amendment denied' },
    owner: { reference: context.who },
    lastModified: now.toISOString(),
    ...(decision.decision === 'deny' ? { statusReason: { text: decision.reason } } : {}),
    ...noteOf(task, decision, now),
    output: [
      {
        type: { text: decision.decision === 'accept' ? 'amended record' : 'record with the denial linked' },
        valueReference: { reference: recordVersion },
      },
    ],
  };
  const saved = (await repository.update(decided, context)).resource as Task;
  return { task: saved, recordVersion };
}

function noteOf(task: Task, decision: AmendmentDecision, now: Date): Pick<Task, 'note'> {
  const added =
    decision.decision === 'deny'
      ? DISAGREEMENT_RIGHT
      : decision.note === undefined
        ? undefined
        : decision.note;
  const note = [
    ...(task.note ?? []),
    ...(added === undefined ? [] : [{ text: added, time: now.toISOString() }]),
  ];
  return note.length === 0 ? {} : { note };
}
