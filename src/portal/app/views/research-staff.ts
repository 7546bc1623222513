/**
 * Studies for a research member's staff and for ethics boards (issue 18 item 6): every study with its
 * status and approvals, the proposal form, approve (an ethics board it names, or any member's vote),
 * open and close (operator-token writes at /admin/research, as the Administration page makes them),
 * at the research member a release round across every member holding data (research-round.ts), and
 * each anchored release checked against the chain (GET /research/studies/{id}/releases/{hash}).
 */
import { ApiError, errorText, sendJson } from '../api.js';
import { consortiumMembers, type Member, nodeStatus } from '../context.js';
import { field, h, message, replace, uid } from '../dom.js';
import { isPatient, type Session } from '../session.js';
import { ADMIN_TOKEN_MISSING } from './admin.js';
import { proposeForm } from './research-propose.js';
import { kickOff, releasesTable } from './research-releases.js';
import { startRound } from './research-round.js';
import {
  approvalWords,
  loadStudies,
  STATUS_WORDS,
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
    proposeForm(studies, members, status.role === 'research', out, (path, body, success) =>
      operatorWrite(path, body, out, rerender, success),
    ),
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
      study.status === 'open' && mine
        ? h(
            'button',
            {
              type: 'button',
              class: 'small',
              'aria-describedby': headingId,
              onclick: () => {
                if (adminToken === undefined) {
                  replace(out, message('error', ADMIN_TOKEN_MISSING));
                  document.getElementById('research-admin-token')?.focus();
                } else void startRound(study, release, adminToken);
              },
            },
            'Release from every member',
          )
        : null,
      study.status === 'open' && !mine
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

/** Staff who see the Studies link: a node's operators and officers, and researchers or board members. */
export function isStudyStaff(s: Session | undefined): boolean {
  return (
    s !== undefined &&
    !isPatient(s) &&
    s.roles.some((r) => ['admin', 'privacy-officer', 'researcher', 'ethics-board'].includes(r))
  );
}
