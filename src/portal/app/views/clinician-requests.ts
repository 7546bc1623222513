/**
 * The care team's worklist of patients' requests (decision 0029: one list, `Task?status=requested`):
 * amendment requests (45 CFR 164.526) are accepted with the corrected field or denied with a reason over
 * `/patient-rights/amendments/{task}/decision`; a refill request is approved by writing the new
 * prescription (its `priorPrescription` the one asked about) and completing the Task with it as output,
 * or declined with a reason. Every write goes through the vault: checked, audited, versioned.
 */
import { ApiError, errorText, getJson, searchAll, sendJson } from '../api.js';
import { announce, field, formatDateTime, h, message, replace } from '../dom.js';
import { amendableValue, amendKind, amendRecord, type Resource } from '../record-corrections.js';
import { conceptWords } from '../record-summary.js';
import { session } from '../session.js';
import { careTeamInbox } from './clinician-inbox.js';
import { nameOf, type Patient } from './clinician-search.js';

interface Task {
  resourceType: 'Task';
  id: string;
  status: string;
  authoredOn?: string;
  description?: string;
  for?: { reference?: string };
  focus?: { reference?: string };
  code?: { coding?: { system?: string; code?: string }[] };
  note?: { text?: string }[];
  meta?: { versionId?: string };
}

const kindOf = (t: Task) =>
  t.code?.coding?.find((c) => c.code === 'amendment-request' || c.code === 'refill-request')?.code;

/** What the record a request is about says, in a line. */
function recordWords(record: Resource | undefined): string {
  if (record === undefined) return 'the record could not be read';
  const r = record as Record<string, unknown>;
  const concept = r.code ?? r.medicationCodeableConcept ?? r.type ?? r.vaccineCode;
  const what = conceptWords(concept as never) || record.resourceType;
  const value = (r.valueQuantity as { value?: number; unit?: string } | undefined) ?? undefined;
  return value === undefined ? what : `${what}: ${value.value ?? ''} ${value.unit ?? ''}`.trim();
}

export async function renderClinicianRequests(main: HTMLElement): Promise<void> {
  const tasks = (await searchAll<Task>('/fhir/Task?status=requested&_count=100')).filter(
    (t) => kindOf(t) !== undefined,
  );
  const patients = new Map<string, string>();
  const records = new Map<string, Resource | undefined>();
  await Promise.all([
    ...[...new Set(tasks.map((t) => t.for?.reference ?? ''))].map(async (ref) => {
      const p = await getJson<Patient>(`/fhir/${ref}`).catch(() => undefined);
      patients.set(ref, p === undefined ? ref : nameOf(p));
    }),
    ...[...new Set(tasks.map((t) => t.focus?.reference ?? ''))].map(async (ref) => {
      records.set(ref, await getJson<Resource>(`/fhir/${ref}`).catch(() => undefined));
    }),
  ]);
  const status = h('div', { id: 'requests-status', tabindex: '-1', 'aria-live': 'polite' });
  const done = async (said: string) => {
    await renderClinicianRequests(main);
    const again = document.getElementById('requests-status');
    if (again !== null) {
      replace(again, message('ok', said));
      again.focus();
    }
    announce(said);
  };
  tasks.sort((a, b) => (a.authoredOn ?? '').localeCompare(b.authoredOn ?? ''));
  const inbox = await careTeamInbox(done);
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Patient requests'),
    h(
      'p',
      {},
      'Amendment and refill requests, visit requests and messages from patients, oldest first. Each decision is written to the record and the patient sees it in their portal.',
    ),
    status,
    h('h2', { id: 'tasks-h' }, 'Amendments and refills'),
    tasks.length === 0
      ? message('ok', 'No requests are waiting.')
      : h(
          'ul',
          { class: 'cards', id: 'request-list' },
          tasks.map((t) =>
            requestCard(
              t,
              patients.get(t.for?.reference ?? '') ?? 'a patient',
              records.get(t.focus?.reference ?? ''),
              done,
            ),
          ),
        ),
    inbox,
  );
}

function requestCard(
  task: Task,
  patient: string,
  record: Resource | undefined,
  done: (said: string) => Promise<void>,
): HTMLElement {
  const amendment = kindOf(task) === 'amendment-request';
  const asked = task.description ?? task.note?.map((n) => n.text).join(' ') ?? '';
  const reason = h('textarea', { rows: 2, maxlength: 1000, id: `reason-${task.id}` });
  const kind = record === undefined ? undefined : amendKind(record);
  const value =
    amendment && record !== undefined && kind !== undefined
      ? h('input', {
          type: 'text',
          id: `amend-${task.id}`,
          value: amendableValue(record),
          autocomplete: 'off',
        })
      : undefined;
  const out = h('div', {});
  const act = (accept: boolean) => async () => {
    const text = reason.value.trim();
    if (!accept && text.length < 10) {
      replace(out, message('error', 'Give the patient the reason, in at least 10 characters.'));
      reason.focus();
      return;
    }
    try {
      const said = amendment
        ? await decideAmendment(task, record, accept, text, value?.value)
        : await decideRefill(task, record, accept, text);
      await done(`${patient}: ${said}`);
    } catch (error) {
      replace(
        out,
        message(
          'error',
          error instanceof ApiError && error.code === 'ERR_CLINICAL_WARNING'
            ? `Not prescribed: ${errorText(error)}. Open the chart to review the allergy.`
            : `Not saved: ${errorText(error)}`,
        ),
      );
    }
  };
  return h(
    'li',
    { class: 'card', 'data-task-id': task.id, 'data-kind': kindOf(task) },
    h('h3', {}, `${amendment ? 'Amendment request' : 'Refill request'} from ${patient}`),
    h('p', { class: 'meta' }, `Asked on ${formatDateTime(task.authoredOn)} · about ${recordWords(record)}`),
    asked === '' ? null : h('blockquote', {}, asked),
    value === undefined ? null : field('Corrected value (when accepting)', value),
    field(
      amendment ? 'Reason or note for the patient' : 'Note for the patient',
      reason,
      'Required when you deny or decline; the patient reads it.',
    ),
    h(
      'div',
      { class: 'row' },
      h(
        'button',
        { type: 'button', class: 'primary', onclick: act(true) },
        amendment ? 'Accept the amendment' : 'Approve the refill',
      ),
      h(
        'button',
        { type: 'button', class: 'danger', onclick: act(false) },
        amendment ? 'Deny the amendment' : 'Decline the refill',
      ),
    ),
    h(
      'p',
      {},
      h(
        'a',
        { href: `#/chart/${encodeURIComponent((task.for?.reference ?? '').replace(/^Patient\//, ''))}` },
        `Open the chart of ${patient}`,
      ),
    ),
    out,
  );
}

async function decideAmendment(
  task: Task,
  record: Resource | undefined,
  accept: boolean,
  reason: string,
  value: string | undefined,
): Promise<string> {
  const path = `/patient-rights/amendments/${encodeURIComponent(task.id)}/decision`;
  if (!accept) {
    await sendJson(path, { decision: 'deny', reason }, { fhir: false });
    return 'amendment denied; the patient can file a statement of disagreement.';
  }
  if (record === undefined) throw new Error('the record could not be read');
  const by = {
    reason: reason || 'Amended at the patient’s request',
    author: session()?.fhirUser ?? '',
    at: new Date(),
  };
  const amended = value === undefined ? record : amendRecord(record, value, by);
  await sendJson(
    path,
    { decision: 'accept', amended, ...(reason === '' ? {} : { note: reason }) },
    { fhir: false },
  );
  return 'amendment accepted; the record has a new version.';
}

async function decideRefill(
  task: Task,
  record: Resource | undefined,
  approve: boolean,
  note: string,
): Promise<string> {
  const me = session()?.fhirUser ?? '';
  const now = new Date().toISOString();
  let output: Task['focus'] | undefined;
  if (approve) {
    if (record === undefined) throw new Error('the prescription could not be read');
    const { id: _, meta: __, ...rest } = record as Record<string, unknown>;
    const prescribed = await sendJson<{ id: string }>('/fhir/MedicationRequest', {
      ...rest,
      status: 'active',
      intent: 'order',
      authoredOn: now,
      requester: { reference: me },
      priorPrescription: { reference: `MedicationRequest/${record.id}` },
    });
    output = { reference: `MedicationRequest/${prescribed.id}` };
  }
  const { meta, ...current } = await getJson<Task>(`/fhir/Task/${encodeURIComponent(task.id)}`);
  await sendJson(
    `/fhir/Task/${encodeURIComponent(task.id)}`,
    {
      ...current,
      status: approve ? 'completed' : 'rejected',
      owner: { reference: me },
      lastModified: now,
      ...(approve ? {} : { statusReason: { text: note } }),
      ...(note === '' ? {} : { note: [...(current.note ?? []), { text: note, time: now }] }),
      ...(output === undefined
        ? {}
        : { output: [{ type: { text: 'new prescription' }, valueReference: output }] }),
    },
    {
      method: 'PUT',
      headers: meta?.versionId === undefined ? {} : { 'if-match': `W/"${meta.versionId}"` },
    },
  );
  return approve ? 'refill approved: a new prescription is written.' : 'refill declined.';
}
