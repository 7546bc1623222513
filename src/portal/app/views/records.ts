/** The patient's timeline: this node's records ($everything) and, on request, every other member's. */
import { createPatientAssertion } from '../../../identity/patient-assertion.js';
import { ApiError, errorText, getJson, sendJson } from '../api.js';
import { consortiumMembers, nodeStatus, unlockedKey } from '../context.js';
import { formatDate, h, message, replace } from '../dom.js';
import type { Resource } from '../fhir-display.js';
import { recordList } from '../record-list.js';
import { mergeRecords, type ServedRecord } from '../record-rows.js';
import { patientId, session } from '../session.js';
import { keyUnlockForm } from './key-unlock.js';

interface EverywhereMembers {
  members: { address: string; name: string; audience: string }[];
}
export interface EverywhereAnswer {
  accessHistory: {
    member: string;
    memberName: string;
    auditEvent: Resource;
    tlogProof?: string;
    verification: { status: 'verified' | 'failed'; reason?: string };
  }[];
  records: {
    member: string;
    memberName: string;
    resource: Resource;
    verification: { status: 'verified' | 'failed'; reason?: string };
  }[];
  members: { address: string; name: string; status: 'ok' | 'error'; error?: string }[];
}

export async function loadEverything(patient: string, headers?: Record<string, string>): Promise<Resource[]> {
  const bundle = await getJson<{ entry?: { resource: Resource }[] }>(
    `/fhir/Patient/${encodeURIComponent(patient)}/$everything`,
    headers === undefined ? {} : { headers },
  );
  return (bundle.entry ?? []).map((e) => e.resource);
}

export async function renderRecords(main: HTMLElement): Promise<void> {
  const id = patientId(session());
  const status = await nodeStatus();
  replace(main, h('h1', { tabindex: '-1' }, 'My records'), message('info', 'Loading your records…'));
  const resources = await loadEverything(id);
  const patient = resources.find((r) => r.resourceType === 'Patient') as
    | (Resource & { name?: { given?: string[]; family?: string }[]; birthDate?: string })
    | undefined;
  const name = patient?.name?.[0];
  const members = await consortiumMembers().catch(() => []);
  const ownBase = members.find((m) => m.address.toLowerCase() === status.address.toLowerCase())?.fhirBaseUrl;
  const own: ServedRecord[] = resources.map((resource) => ({
    resource,
    servedBy: status.organization,
    ...(ownBase === undefined ? {} : { servedByBase: ownBase }),
  }));
  const list = recordList(mergeRecords(own));
  const everywhere = h('section', { 'aria-labelledby': 'everywhere-h' });
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'My records'),
    h(
      'p',
      { class: 'meta', id: 'patient-banner' },
      `${[name?.given?.join(' '), name?.family].filter(Boolean).join(' ')}${patient?.birthDate ? `, born ${formatDate(patient.birthDate)}` : ''} · records held by ${status.organization}`,
    ),
    own.length <= 1 ? message('info', `${status.organization} holds no clinical records for you yet.`) : null,
    list.element,
    everywhere,
  );
  renderEverywhere(everywhere, (answer) => {
    // Each record once: this member's own and the copies it received merge with the originals.
    const bases = new Map(members.map((m) => [m.address.toLowerCase(), m.fhirBaseUrl]));
    const fromOthers: ServedRecord[] = answer.records.map((r) => {
      const base = bases.get(r.member.toLowerCase());
      return {
        resource: r.resource,
        servedBy: r.memberName,
        verification: r.verification,
        ...(base === undefined ? {} : { servedByBase: base }),
      };
    });
    list.update(mergeRecords([...own, ...fromOthers]));
  });
}

function renderEverywhere(section: HTMLElement, onAnswer: (answer: EverywhereAnswer) => void): void {
  const out = h('div', { id: 'everywhere-result' });
  replace(
    section,
    h('h2', { id: 'everywhere-h' }, 'Records from other members'),
    h(
      'p',
      {},
      'Other members of the consortium keep their own records about you. Your browser signs one request per member with your consent key; each answer is checked against that member’s transparency log.',
    ),
    h(
      'button',
      { type: 'button', id: 'fetch-everywhere', onclick: () => void fetchEverywhere(out, onAnswer) },
      'Get my records from every member',
    ),
    out,
  );
}

/**
 * Asks every member holding the patient's records, with one assertion per member signed here with the
 * patient's key. Renders why not into `out` (no such service, key locked, an error) and returns undefined.
 */
export async function collectEverywhere(
  out: HTMLElement,
  retry: () => Promise<void>,
): Promise<EverywhereAnswer | undefined> {
  replace(out, message('info', 'Asking this node which members to contact…'));
  let members: EverywhereMembers;
  try {
    members = await getJson<EverywhereMembers>('/patient/everywhere');
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      replace(
        out,
        message(
          'error',
          'This node cannot fetch records from other members yet (it has no /patient/everywhere service). Your records from this member are shown above.',
        ),
      );
      return undefined;
    }
    replace(out, message('error', errorText(error)));
    return undefined;
  }
  const key = unlockedKey();
  if (key === undefined) {
    replace(out, keyUnlockForm(retry, 'Each member needs a request signed with your consent key.'));
    return undefined;
  }
  replace(out, message('info', `Signing ${members.members.length} request(s) and fetching…`));
  try {
    const now = Math.floor(Date.now() / 1000);
    const assertions = await Promise.all(
      members.members.map(async (m) => ({
        member: m.address,
        assertion: await createPatientAssertion(key.privateKey, {
          audience: m.audience,
          nowSeconds: now,
          jti: crypto.randomUUID(),
        }),
      })),
    );
    return await sendJson<EverywhereAnswer>('/patient/everywhere', { assertions }, { fhir: false });
  } catch (error) {
    replace(out, message('error', errorText(error)));
    return undefined;
  }
}

async function fetchEverywhere(
  out: HTMLElement,
  onAnswer: (answer: EverywhereAnswer) => void,
): Promise<void> {
  const answer = await collectEverywhere(out, () => fetchEverywhere(out, onAnswer));
  if (answer === undefined) return;
  onAnswer(answer);
  try {
    replace(
      out,
      h(
        'ul',
        { class: 'cards' },
        answer.members.map((m) =>
          h(
            'li',
            { class: 'card' },
            h('strong', {}, m.name),
            ' ',
            m.status === 'ok'
              ? h('span', { class: 'badge badge-ok' }, 'answered')
              : h('span', { class: 'badge badge-bad' }, `unavailable: ${m.error ?? 'error'}`),
          ),
        ),
      ),
      answer.records.length === 0
        ? message('info', 'No other member holds records about you that you can see.')
        : message(
            'ok',
            `${answer.records.length} record(s) from ${answer.members.filter((m) => m.status === 'ok').length} member(s) are in your list above, each once, with whether it verified.`,
          ),
    );
  } catch (error) {
    replace(out, message('error', errorText(error)));
  }
}
