/**
 * The clinician's chart: the patient banner, allergies and problems, records fetched from other
 * members, one record list with corrections (entered in error, amend), the forms and the access section.
 */
import { ApiError, errorText, getJson } from '../api.js';
import { nodeStatus } from '../context.js';
import { announce, formatDate, h, message, replace } from '../dom.js';
import type { Resource } from '../fhir-display.js';
import { recordList } from '../record-list.js';
import { mergeRecords } from '../record-rows.js';
import { session } from '../session.js';
import { correctionControls } from './chart-corrections.js';
import { accessRequestForm, breakGlassForm, emergency, purposeHeaders } from './clinician-access.js';
import { allergyProblemBanner } from './clinician-banner.js';
import { medicationForm, noteForm, observationForm } from './clinician-forms.js';
import { genderWords, nameOf, type Patient } from './clinician-search.js';

/** `POST /fhir/Patient/{id}/$fetch-from-members`: one line per other member holding the patient's records. */
interface MemberPullReport {
  member: string;
  name: string;
  status: 'ok' | 'refused' | 'error';
  error?: string;
  received: number;
  kept: number;
  unchanged: number;
  refused: { reference: string; reason: string; message: string }[];
  provenance?: string;
  /** What the patient's grant lets this member receive, in words (issue 22 item 1). */
  coverage?: string;
}
interface PullReport {
  patient: string;
  members: MemberPullReport[];
}

export async function renderChart(main: HTMLElement, patientId: string): Promise<void> {
  replace(main, h('h1', { tabindex: '-1' }, 'Chart'), message('info', 'Loading the chart…'));
  let resources: Resource[] = [];
  let refused: string | undefined;
  try {
    const bundle = await getJson<{ entry?: { resource: Resource }[] }>(
      `/fhir/Patient/${encodeURIComponent(patientId)}/$everything`,
      { headers: purposeHeaders(patientId) },
    );
    resources = (bundle.entry ?? []).map((e) => e.resource);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      // A link to a patient this member does not hold (mistyped, or erased): say so, and where to go.
      replace(
        main,
        h('h1', { tabindex: '-1' }, 'Chart'),
        message(
          'error',
          'No patient was found at this address. ',
          h('a', { href: '#/patients' }, 'Search for the patient again'),
          '.',
        ),
      );
      return;
    }
    if (!(error instanceof ApiError) || error.status !== 403) throw error;
    refused = errorText(error);
  }
  const patient = resources.find((r) => r.resourceType === 'Patient') as Patient | undefined;
  const organization = (await nodeStatus()).organization;
  const rerender = () => renderChart(main, patientId);
  const correctionHost = h('div', { id: 'correction' });
  const corrected = async (said: string) => {
    await rerender();
    const status = document.getElementById('correction-status');
    if (status === null) return;
    replace(status, message('ok', said));
    status.focus();
  };
  const fetchSection = fetchFromMembersSection(patientId, rerender);
  const clinician = session()?.roles.includes('clinician') === true;
  replace(
    main,
    h(
      'h1',
      { tabindex: '-1' },
      patient === undefined
        ? 'Chart (the patient’s details are not shared with you)'
        : `Chart: ${nameOf(patient)}`,
    ),
    patient === undefined
      ? null
      : h(
          'p',
          { class: 'meta', id: 'patient-banner' },
          [`Born ${formatDate(patient.birthDate)}`, genderWords(patient.gender)].filter(Boolean).join(' · '),
        ),
    // Only a clinician's chart says "no known allergies": for other staff (the privacy officer) the
    // records are not theirs to read, and an empty banner would read as a clean history.
    clinician && refused === undefined ? allergyProblemBanner(resources) : null,
    clinician
      ? null
      : message(
          'info',
          'Your role does not include treating patients: this chart shows only what your role may read, and recording, asking for access and emergency access are for the clinicians treating the patient. Emergency accesses to review are in the ',
          h('a', { href: '#/review' }, 'Review queue'),
          '.',
        ),
    emergency.has(patientId)
      ? message(
          'error',
          `Emergency access is open until ${new Date(emergency.get(patientId) ?? '').toLocaleTimeString()}: every access is recorded and will be reviewed.`,
        )
      : null,
    refused === undefined
      ? null
      : message(
          'error',
          `The chart was refused: ${refused}. Ask the patient for access, or use emergency access if this is an emergency.`,
        ),
    clinician ? fetchSection : null,
    // One record list (issue 22), not a page per type: tabs, search, the member a record came from.
    resources.length === 0
      ? null
      : recordList(mergeRecords(resources.map((resource) => ({ resource, servedBy: organization }))), {
          caption: 'Records',
          search: 'Search the records',
          actions: correctionControls(correctionHost, corrected),
        }).element,
    h('div', { id: 'correction-status', tabindex: '-1', 'aria-live': 'polite' }),
    correctionHost,
    clinician
      ? [
          h('h2', {}, 'Record'),
          observationForm(patientId, rerender),
          medicationForm(patientId, rerender),
          noteForm(patientId, rerender),
          h('h2', {}, 'Access'),
          accessRequestForm(patientId),
          breakGlassForm(patientId, rerender),
        ]
      : null,
  );
}

/**
 * The "fetch from other members" section, kept across re-renders of the chart for the same patient
 * (the live region with the last report, and the focus on its button, survive the chart's refresh).
 */
let fetchSectionOf: { patientId: string; element: HTMLElement } | undefined;

function fetchFromMembersSection(patientId: string, refresh: () => Promise<void>): HTMLElement {
  if (fetchSectionOf?.patientId === patientId) return fetchSectionOf.element;
  const out = h('div', { id: 'fetch-members-result', 'aria-live': 'polite' });
  const button: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      id: 'fetch-from-members',
      onclick: async () => {
        button.disabled = true;
        replace(out, h('p', { class: 'meta', role: 'status' }, 'Asking the other members…'));
        try {
          const report = await getJson<PullReport>(
            `/fhir/Patient/${encodeURIComponent(patientId)}/$fetch-from-members?purpose=TREAT`,
            { method: 'POST' },
          );
          replace(out, pullReportView(report));
          const kept = report.members.reduce((n, m) => n + m.kept, 0);
          announce(
            report.members.length === 0
              ? 'No other member holds records for this patient.'
              : `${report.members.map((m) => `${m.name}: ${m.status}`).join('; ')}. ${kept} record(s) kept.`,
          );
          await refresh();
        } catch (error) {
          replace(out, message('error', `The request failed: ${errorText(error)}`));
        }
        // The section is the same element after the chart is drawn again: keep the focus on its button,
        // enabled first (a disabled button cannot take focus; it fell to the page's start).
        button.disabled = false;
        button.focus();
      },
    },
    'Fetch records from other members',
  );
  const element = h(
    'section',
    { 'aria-labelledby': 'fetch-members-h', id: 'fetch-members' },
    h('h2', { id: 'fetch-members-h' }, 'Records at other members'),
    h(
      'p',
      { class: 'hint' },
      'Asks the members that hold records for this patient (from the ledger’s record locator), for treatment. Each member answers from the patient’s consent on the ledger; every version received is checked against that member’s transparency log before it is kept.',
    ),
    button,
    out,
  );
  fetchSectionOf = { patientId, element };
  return element;
}

function capitalized(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

function pullReportView(report: PullReport): HTMLElement {
  if (report.members.length === 0)
    return message('info', 'No other member holds records for this patient (record locator).');
  return h(
    'ul',
    { class: 'cards', id: 'fetch-members-report' },
    report.members.map((m) =>
      h(
        'li',
        { class: 'card', 'data-member': m.member, 'data-status': m.status },
        h('h3', {}, m.name),
        h(
          'p',
          {},
          h(
            'span',
            { class: `badge ${m.status === 'ok' ? 'badge-ok' : 'badge-bad'}` },
            m.status === 'ok' ? 'ok' : m.status === 'refused' ? 'refused' : 'error',
          ),
          ` received ${m.received}, kept ${m.kept}, already held ${m.unchanged}, refused ${m.refused.length}`,
        ),
        m.error === undefined ? null : h('p', { class: 'meta' }, m.error),
        m.coverage === undefined ? null : h('p', { class: 'meta coverage' }, `${capitalized(m.coverage)}.`),
        m.refused.length === 0
          ? null
          : h(
              'details',
              { open: true },
              h('summary', {}, `${m.refused.length} version(s) refused`),
              h(
                'ul',
                { class: 'issues' },
                m.refused.map((r) => h('li', {}, `${r.reference}: ${r.reason} (${r.message})`)),
              ),
            ),
        m.provenance === undefined
          ? null
          : h('p', { class: 'meta' }, 'Provenance: ', h('code', {}, m.provenance)),
      ),
    ),
  );
}
