/**
 * Studies for a research member's staff and for ethics boards (issue 18 item 6): every study with its
 * status and approvals, the proposal form, approve (an ethics board it names, or any member's vote),
 * open and close (operator-token writes at /admin/research, as the Administration page makes them),
 * a release kicked off at this node and its manifest, and each anchored release checked against the
 * chain (GET /research/studies/{id}/releases/{hash}).
 */
import { keccak256, sha256, toHex } from 'viem';
import { DATA_CATEGORIES } from '../../../ledger/codes.js';
import { ApiError, errorText, getJson, request, sendJson } from '../api.js';
import { consortiumMembers, type Member, memberName, nodeStatus } from '../context.js';
import { field, h, message, replace, uid } from '../dom.js';
import { isPatient, type Session } from '../session.js';
import { ADMIN_TOKEN_MISSING } from './admin.js';
import {
  approvalWords,
  loadStudies,
  STATUS_WORDS,
  type StudyRelease,
  type StudyView,
  studyData,
  studyPeriod,
  studyTitle,
} from './research-study.js';

/** The operator token, in this module's memory only (gone on reload), as on the Administration page. */
let adminToken: string | undefined;

export async function renderResearchStaff(main: HTMLElement): Promise<void> {
  replace(main, h('h1', { tabindex: '-1' }, 'Studies'), message('info', 'Loading the studies…'));
  const [studies, members, status] = await Promise.all([
    loadStudies(),
    consortiumMembers(true),
    nodeStatus(),
  ]);
  const out = h('div', { id: 'studies-status', role: 'status' });
  const rerender = async (text: string, kind: 'ok' | 'error' = 'ok') => {
    await renderResearchStaff(main);
    const done = document.getElementById('studies-status');
    if (done !== null) {
      replace(done, message(kind, text));
      done.setAttribute('tabindex', '-1');
      done.focus();
    }
  };
  const tokenArea = h('div', { id: 'research-token' });
  renderTokenForm(tokenArea, () => void renderResearchStaff(main));
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Studies'),
    h(
      'p',
      {},
      `Research studies of the consortium, as ${status.organization}'s node reads them from the ledger. A study moves from proposed to approved (by the ethics boards it names, or by a majority of the other members), to open (data may be released) and closed. Ledger writes need this node's admin token.`,
    ),
    out,
    tokenArea,
    studies.length === 0
      ? message('info', 'No study has been proposed yet.')
      : h(
          'ul',
          { class: 'cards', id: 'study-list' },
          studies.map((s) => studyCard(s, members, status.address, out, rerender)),
        ),
    proposeForm(studies, members, status.role === 'research', out, rerender),
  );
}

function renderTokenForm(area: HTMLElement, changed: () => void): void {
  if (adminToken !== undefined) {
    replace(
      area,
      h(
        'p',
        {},
        'The admin token is in this tab’s memory. ',
        h(
          'button',
          {
            type: 'button',
            class: 'small',
            onclick: () => {
              adminToken = undefined;
              changed();
            },
          },
          'Forget the admin token',
        ),
      ),
    );
    return;
  }
  const token = h('input', { type: 'password', id: 'research-admin-token', autocomplete: 'off' });
  const note = h('div', {});
  replace(
    area,
    h(
      'form',
      {
        class: 'card',
        onsubmit: (event: Event) => {
          event.preventDefault();
          if (token.value.trim() === '') return replace(note, message('error', ADMIN_TOKEN_MISSING));
          adminToken = token.value.trim();
          changed();
        },
      },
      field(
        'Admin token',
        token,
        'The admin.token file in the node’s folder. Kept in this tab’s memory only.',
      ),
      h('button', { type: 'submit' }, 'Use token'),
      note,
    ),
  );
}

/** An operator write; answers once mined. Without a token, asks for it. */
async function operatorWrite(
  path: string,
  body: unknown,
  out: HTMLElement,
  done: (text: string, kind?: 'ok' | 'error') => Promise<void>,
  success: string,
): Promise<void> {
  if (adminToken === undefined) {
    replace(out, message('error', ADMIN_TOKEN_MISSING));
    document.getElementById('research-admin-token')?.focus();
    return;
  }
  replace(out, message('info', 'Sending the transaction and waiting for it to be mined…'));
  try {
    await sendJson(path, body, { bearer: adminToken, fhir: false });
    await done(success);
  } catch (error) {
    replace(
      out,
      message(
        'error',
        error instanceof ApiError && error.status === 401
          ? 'The node did not accept this admin token. Forget it and paste it again.'
          : errorText(error),
      ),
    );
  }
}

function studyCard(
  study: StudyView,
  members: readonly Member[],
  self: string,
  out: HTMLElement,
  rerender: (text: string, kind?: 'ok' | 'error') => Promise<void>,
): HTMLElement {
  const title = studyTitle(study, members);
  const headingId = uid('study-h');
  const mine = study.researcher.toLowerCase() === self.toLowerCase();
  const board = study.ethicsBoards.some((b) => b.toLowerCase() === self.toLowerCase());
  const approved = study.approvals.by.some((b) => b.toLowerCase() === self.toLowerCase());
  const base = `/admin/research/studies/${study.id}`;
  const button = (label: string, path: string, success: string, danger = false) =>
    h(
      'button',
      {
        type: 'button',
        class: danger ? 'small danger' : 'small',
        'aria-describedby': headingId,
        onclick: () => void operatorWrite(path, {}, out, rerender, success),
      },
      label,
    );
  const release = h('div', { class: 'release-out' });
  return h(
    'li',
    { class: 'card', 'data-study-id': study.id, 'data-status': study.status },
    h('h2', { id: headingId }, title),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Status'),
      h('dd', { class: 'study-status' }, STATUS_WORDS[study.status]),
      h('dt', {}, 'Approvals'),
      h('dd', {}, approvalWords(study, members)),
      h('dt', {}, 'Period'),
      h('dd', {}, `${studyPeriod(study)}${study.period.inPeriod ? ' (now in its period)' : ''}`),
      h('dt', {}, 'Data'),
      h('dd', {}, `${studyData(study)}; resource types ${study.resourceTypes.join(', ')}; k = ${study.k}`),
      h('dt', {}, 'Protocol hash'),
      h('dd', {}, h('code', {}, study.protocolHash)),
      h('dt', {}, 'Profile'),
      h('dd', {}, study.patientWouldShare.form),
      h('dt', {}, 'Study id'),
      h('dd', {}, h('code', {}, study.id)),
    ),
    h(
      'div',
      { class: 'row' },
      study.status === 'proposed' && !mine && !approved && (board || study.ethicsBoards.length === 0)
        ? button(
            board ? 'Approve as ethics board' : 'Vote to approve',
            `${base}/approvals`,
            `Approved ${title}.`,
          )
        : null,
      study.status === 'approved' && mine
        ? button('Open the study', `${base}/open`, `Opened ${title}.`)
        : null,
      study.status !== 'closed'
        ? button(
            mine ? 'Close the study' : 'Vote to close',
            `${base}/close`,
            mine ? `Closed ${title}.` : `Voted to close ${title}.`,
            true,
          )
        : null,
      study.status === 'open'
        ? h(
            'button',
            {
              type: 'button',
              class: 'small',
              'aria-describedby': headingId,
              onclick: () => void kickOff(study, release),
            },
            'Start a release here',
          )
        : null,
    ),
    release,
    releasesTable(study, members),
  );
}

interface Manifest {
  readonly output?: readonly { type: string; url: string; count?: number; extension?: { sha256?: string } }[];
  readonly extension?: {
    manifestHash?: string;
    counts?: Record<string, number>;
    consentBlock?: string;
    anchor?: Record<string, unknown>;
  };
}

/** POST $export (Prefer: respond-async) as the signed-in user, then polls the status until the manifest. */
async function kickOff(study: StudyView, out: HTMLElement): Promise<void> {
  replace(out, message('info', 'Asking this node to release the study’s data…'));
  try {
    const kicked = await request(`/research/studies/${study.id}/$export`, {
      method: 'POST',
      headers: { prefer: 'respond-async', 'x-careledger-purpose': 'HRESCH' },
    });
    const location = new URL(kicked.headers.get('content-location') ?? '', window.location.href).pathname;
    for (let i = 0; i < 240; i++) {
      const polled = await request(location);
      if (polled.status === 200) {
        const manifest = (await polled.json()) as Manifest;
        replace(out, manifestView(manifest));
        return;
      }
      replace(out, message('info', `Releasing: ${polled.headers.get('x-progress') ?? 'in progress'}…`));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    replace(out, message('error', 'The release is still running; look again later.'));
  } catch (error) {
    replace(out, message('error', `The release was refused: ${errorText(error)}`));
  }
}

function manifestView(manifest: Manifest): HTMLElement {
  const counts = manifest.extension?.counts ?? {};
  return h(
    'div',
    { class: 'card', id: 'release-manifest' },
    h('h3', {}, 'Release manifest'),
    message('ok', 'The release is sealed and its manifest anchored on the ledger.'),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Manifest hash'),
      h('dd', {}, h('code', {}, manifest.extension?.manifestHash ?? 'not given')),
      h('dt', {}, 'Consent block'),
      h('dd', {}, String(manifest.extension?.consentBlock ?? '')),
      Object.entries(counts).flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]),
    ),
    h(
      'ul',
      {},
      (manifest.output ?? []).map((f) =>
        h('li', {}, `${f.type}: ${f.count ?? '?'} records, SHA-256 ${f.extension?.sha256 ?? 'not given'}`),
      ),
    ),
  );
}

function releasesTable(study: StudyView, members: readonly Member[]): HTMLElement | null {
  if (study.releases.length === 0) return h('p', { class: 'meta' }, 'No release anchored yet.');
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'stack releases' },
      h('caption', {}, 'Releases anchored on the ledger'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Member', 'Records', 'Left out (k)', 'Patients', 'Manifest', 'Check'].map((x) =>
            h('th', { scope: 'col' }, x),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        study.releases.map((r) => {
          const result = h('span', { role: 'status' });
          return h(
            'tr',
            {},
            h('td', { 'data-label': 'Member' }, memberName(r.member, members)),
            h('td', { 'data-label': 'Records' }, String(r.records)),
            h('td', { 'data-label': 'Left out (k)' }, String(r.suppressed)),
            h('td', { 'data-label': 'Patients' }, String(r.contributors)),
            h('td', { 'data-label': 'Manifest' }, h('code', {}, `${r.manifestHash.slice(0, 10)}…`)),
            h(
              'td',
              { 'data-label': 'Check' },
              h(
                'button',
                { type: 'button', class: 'small', onclick: () => void verifyRelease(study, r, result) },
                'Check against the chain',
              ),
              ' ',
              result,
            ),
          );
        }),
      ),
    ),
  );
}

/** The anchor as the contract holds it (read by the node from ResearchRegistry) against the index. */
async function verifyRelease(study: StudyView, release: StudyRelease, out: HTMLElement): Promise<void> {
  out.textContent = 'Checking…';
  try {
    const onChain = await getJson<{
      records: number;
      suppressed: number;
      consentBlock: string;
      profileHash: string;
    }>(`/research/studies/${study.id}/releases/${release.manifestHash}`);
    const same =
      onChain.records === release.records &&
      onChain.suppressed === release.suppressed &&
      onChain.consentBlock === release.consentBlock &&
      onChain.profileHash.toLowerCase() === study.profileHash.toLowerCase();
    out.textContent = same
      ? `Anchored on chain: ${onChain.records} records, ${onChain.suppressed} left out, consent block ${onChain.consentBlock}, the study’s profile.`
      : 'The chain’s anchor differs from this node’s index.';
  } catch (error) {
    out.textContent = `Not verified: ${errorText(error)}`;
  }
}

function proposeForm(
  studies: readonly StudyView[],
  members: readonly Member[],
  isResearch: boolean,
  out: HTMLElement,
  rerender: (text: string, kind?: 'ok' | 'error') => Promise<void>,
): HTMLElement {
  const name = h('input', { type: 'text', id: 'study-name', required: true, autocomplete: 'off' });
  const protocol = h('textarea', { id: 'study-protocol', rows: 3, required: true });
  // The Safe Harbor profile's hash, as the node describes studies under it; else paste one.
  const safeHarbor = studies.find((s) => s.patientWouldShare.form.includes('Safe Harbor'))?.profileHash ?? '';
  const profile = h('input', { type: 'text', id: 'study-profile', value: safeHarbor, autocomplete: 'off' });
  const types = h('input', { type: 'text', id: 'study-types', value: 'Patient, Condition, Observation' });
  const k = h('input', { type: 'number', id: 'study-k', value: '5', min: '2' });
  const from = h('input', { type: 'date', id: 'study-from', value: new Date().toISOString().slice(0, 10) });
  const to = h('input', {
    type: 'date',
    id: 'study-to',
    value: new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10),
  });
  const categories = h(
    'fieldset',
    {},
    h('legend', {}, 'Data categories'),
    h(
      'div',
      { class: 'checks' },
      Object.entries(DATA_CATEGORIES).map(([code, c]) => {
        const id = uid('cat');
        return h(
          'label',
          { for: id },
          h('input', {
            type: 'checkbox',
            id,
            name: 'study-category',
            value: code,
            checked: ['demographics', 'conditions'].includes(code),
          }),
          c.display,
        );
      }),
    ),
  );
  const boards = h(
    'fieldset',
    {},
    h('legend', {}, 'Ethics boards (none: the members vote)'),
    h(
      'div',
      { class: 'checks' },
      members
        .filter((m) => m.status === 'active' && m.role !== 'research')
        .map((m) => {
          const id = uid('board');
          return h(
            'label',
            { for: id },
            h('input', { type: 'checkbox', id, name: 'study-board', value: m.address }),
            m.name,
          );
        }),
    ),
  );
  const form: HTMLFormElement = h(
    'form',
    {
      class: 'card',
      id: 'propose-study-form',
      onsubmit: (event: Event) => {
        event.preventDefault();
        const checked = (n: string) =>
          [...form.querySelectorAll<HTMLInputElement>(`input[name=${n}]:checked`)].map((b) => b.value);
        if (name.value.trim() === '' || protocol.value.trim() === '')
          return replace(out, message('error', 'Give the study’s protocol id and its protocol text.'));
        if (!/^0x[0-9a-fA-F]{64}$/.test(profile.value.trim()))
          return replace(out, message('error', 'The profile hash is 0x and 64 hex digits.'));
        void operatorWrite(
          '/admin/research/studies',
          {
            id: keccak256(toHex(name.value.trim())),
            protocolHash: sha256(toHex(protocol.value)),
            profileHash: profile.value.trim(),
            categories: checked('study-category'),
            resourceTypes: types.value
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean),
            notBefore: new Date(`${from.value}T00:00:00Z`).toISOString(),
            notAfter: new Date(`${to.value}T23:59:59Z`).toISOString(),
            k: Number(k.value),
            ethicsBoards: checked('study-board'),
          },
          out,
          rerender,
          `Proposed the study ${name.value.trim()}.`,
        );
      },
    },
    h('h2', {}, 'Propose a study'),
    isResearch
      ? null
      : message('info', 'Only a research member may propose; the ledger refuses other members.'),
    field(
      'Protocol id',
      name,
      'Your own name for the protocol, e.g. lakeside-diabetes-2026; its hash is the study id.',
    ),
    field('Protocol text', protocol, 'Only its SHA-256 goes on the ledger.'),
    categories,
    field('FHIR resource types (comma-separated)', types),
    field('From', from),
    field('Until', to),
    field('Smallest group k', k),
    field(
      'De-identification profile hash',
      profile,
      'The Safe Harbor profile’s hash is filled in when a study already uses it.',
    ),
    boards,
    h('button', { type: 'submit', class: 'primary' }, 'Propose the study'),
  );
  return form;
}

/** Staff who see the Studies link: a node's operators and officers, and researchers or board members. */
export function isStudyStaff(s: Session | undefined): boolean {
  return (
    s !== undefined &&
    !isPatient(s) &&
    s.roles.some((r) => ['admin', 'privacy-officer', 'researcher', 'ethics-board'].includes(r))
  );
}
