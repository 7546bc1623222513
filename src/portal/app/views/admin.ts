/**
 * Node administration: members and admission votes, practitioner credentials, the log's health,
 * witnesses, anchoring and chain sync. The operator pastes the node's admin token; it is kept in this
 * module's memory only (gone on reload), never stored.
 */

import {
  type DirectoryEntry,
  type LedgerPractitioner,
  practitionerRows,
} from '../admin-practitioner-rows.js';
import { ApiError, errorText, getJson, request, sendJson } from '../api.js';
import { consortiumMembers, nodeStatus } from '../context.js';
import { field, h, message, replace } from '../dom.js';
import { showFieldErrors } from '../field-errors.js';

let adminToken: string | undefined;
/** Redraws the practitioners table of the page on view (names appear once the admin token is given). */
let redrawPractitioners: (() => Promise<void>) | undefined;
export const ADMIN_TOKEN_MISSING =
  'Paste the node’s admin token (the admin.token file in the node’s folder) before using it.';
export const ADMIN_TOKEN_WRONG =
  'This node did not accept that token. Copy it again from the admin.token file in the node’s folder.';
const ROLES = [
  '',
  'provider',
  'lab',
  'pharmacy',
  'payer',
  'research',
  'manufacturer',
  'distributor',
  'licensing-board',
];

function facts(entries: [string, unknown][]): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    entries.flatMap(([k, v]) => [
      h('dt', {}, k),
      h('dd', {}, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v ?? '')),
    ]),
  );
}

interface Proposal {
  readonly id: string;
  readonly kind: 'admission' | 'removal';
  readonly status: 'executed' | 'pending' | 'expired';
  readonly subject: string;
  readonly subjectName: string | null;
  readonly proposer: string;
  readonly proposerName: string | null;
  readonly votes: number;
  readonly threshold: number;
  readonly expiresAt: number;
  readonly voters: readonly { address: string; name: string | null }[];
  readonly blockNumber: number;
}

interface Anchor {
  readonly treeSize: number;
  readonly anchoredAt: number;
  readonly blockNumber: number;
  readonly txHash: string;
}

/** "42 s ago", "3 min ago", "5 h ago", "2 d ago" from unix seconds. */
function ago(unixSeconds: number | undefined): string {
  if (unixSeconds === undefined || !Number.isFinite(unixSeconds)) return 'unknown';
  const s = Math.max(0, Math.round(Date.now() / 1000 - unixSeconds));
  if (s < 120) return `${s} s ago`;
  if (s < 7_200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3_600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

function dateOf(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

type Cell = Node | string;

/** An accessible table: a caption naming it, column headers with scope, the first cell a row header. */
function table(id: string, caption: string, headers: string[], rows: Cell[][], empty: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { id },
      h('caption', {}, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headers.map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.length === 0
          ? h('tr', {}, h('td', { colspan: String(headers.length) }, empty))
          : rows.map(([first, ...rest]) =>
              h(
                'tr',
                {},
                h('th', { scope: 'row' }, first),
                rest.map((cell) => h('td', {}, cell)),
              ),
            ),
      ),
    ),
  );
}

/** The cosignature/v1 timestamps (c2sp.org/tlog-cosignature: key hash, 8-byte big-endian seconds, signature). */
function cosignatureTimes(signatureLines: readonly string[]): number[] {
  return signatureLines.flatMap((line) => {
    try {
      const bytes = Uint8Array.from(atob(line.split(' ')[2] ?? ''), (ch) => ch.charCodeAt(0));
      if (bytes.length !== 4 + 8 + 64) return []; // a plain Ed25519 note signature has no timestamp
      return [Number(new DataView(bytes.buffer).getBigUint64(4))];
    } catch {
      return [];
    }
  });
}

const unavailable = <T>(promise: Promise<T>): Promise<T | Error> =>
  promise.catch((error: unknown) => new Error(errorText(error)));

export async function renderAdmin(main: HTMLElement): Promise<void> {
  const [status, members, checkpoint] = await Promise.all([
    nodeStatus(true),
    consortiumMembers(true),
    request('/log/checkpoint', { headers: { accept: 'text/plain' } })
      .then((r) => r.text())
      .catch(() => ''),
  ]);
  const [proposals, practitioners, anchors] = await Promise.all([
    unavailable(getJson<{ proposals: Proposal[] }>('/ledger/proposals').then((r) => r.proposals)),
    unavailable(
      getJson<{ practitioners: LedgerPractitioner[] }>(
        `/ledger/practitioners?organization=${encodeURIComponent(status.address)}`,
      ).then((r) => r.practitioners),
    ),
    Promise.all(
      members.map((m) =>
        unavailable(
          getJson<{ anchors: Anchor[] }>(`/ledger/anchors?origin=${encodeURIComponent(m.logOrigin)}`).then(
            (r) => r.anchors.at(-1),
          ),
        ),
      ),
    ),
  ]);
  const signatureLines = checkpoint.split('\n').filter((l) => l.startsWith('\u2014 '));
  const cosigners = signatureLines.map((l) => l.slice(2).split(' ')[0] ?? '');
  const cosignedAt = cosignatureTimes(signatureLines);
  const [origin, size] = checkpoint.split('\n');
  const log = (status.log ?? {}) as {
    size?: number;
    checkpointSize?: number | null;
    cosignedSize?: number | null;
    witnesses?: { total?: number; quorum?: number };
    anchoredSize?: number | null;
    lastAnchorError?: string | null;
  };
  const sync = (status.sync ?? {}) as {
    headBlock?: number | null;
    indexedBlock?: number | null;
    lagBlocks?: number | null;
    lagSeconds?: number | null;
    lastError?: string | null;
    reorgs?: number;
    events?: number;
  };
  const failed = (what: string, error: Error) => message('error', `Could not load ${what}: ${error.message}`);
  const forms = h('div', { id: 'admin-forms' });
  const practitionersBox = h('div', { id: 'practitioners-box' });
  // Issue 22: names and organisations, the ledger address as a detail; names need the admin token.
  const memberNames = new Map(members.map((m) => [m.address.toLowerCase(), m.name]));
  redrawPractitioners = async () => {
    if (practitioners instanceof Error) {
      replace(practitionersBox, failed('the practitioners', practitioners));
      return;
    }
    const directory =
      adminToken === undefined
        ? undefined
        : await getJson<{ practitioners: DirectoryEntry[] }>('/admin/practitioner-directory', {
            bearer: adminToken,
            fhir: false,
          })
            .then((r) => r.practitioners)
            .catch(() => undefined);
    const rows = practitionerRows(practitioners, { members: memberNames, directory });
    replace(
      practitionersBox,
      directory === undefined && rows.length > 0
        ? h(
            'p',
            { class: 'hint' },
            'Give the admin token under “Operator actions” to see who each practitioner is.',
          )
        : null,
      table(
        'practitioners-table',
        `Practitioners attested by ${status.organization} (from the ledger)`,
        ['Practitioner', 'Organisation', 'Qualification', 'Attested until', 'Status'],
        rows.map((r) => [
          h(
            'span',
            {},
            r.name,
            h('br'),
            h('small', { class: 'meta' }, 'Ledger address ', h('code', { class: 'address' }, r.address)),
          ),
          r.organization,
          r.qualification,
          h('time', { datetime: new Date(r.expiresAt * 1000).toISOString() }, dateOf(r.expiresAt)),
          r.status,
        ]),
        'No practitioners attested by this member.',
      ),
    );
  };
  await redrawPractitioners();
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Administration'),
    h('h2', {}, `This node: ${status.organization}`),
    facts([
      ['Ledger address', status.address],
      ['Role', status.role],
      ['Chain', `id ${status.chain.chainId}`],
      [
        'Contracts',
        Object.entries(status.chain.contracts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
      ],
    ]),
    h('h2', { id: 'chain-sync' }, 'Chain sync and outbox'),
    facts([
      ['Indexed block', sync.indexedBlock ?? 'none yet'],
      ['Chain head', sync.headBlock ?? 'unknown'],
      [
        'Lag',
        sync.lagBlocks === null || sync.lagBlocks === undefined
          ? 'unknown'
          : `${sync.lagBlocks} blocks${
              typeof sync.lagSeconds === 'number'
                ? `, newest indexed block ${Math.round(sync.lagSeconds)} s old`
                : ''
            }`,
      ],
      ['Last sync error', sync.lastError ?? 'none'],
      ['Re-orgs handled', sync.reorgs ?? 0],
      ['Events indexed', sync.events ?? 0],
      ...Object.entries(status.outbox ?? {}).map(([k, v]): [string, unknown] => [`Outbox ${k}`, v]),
    ]),
    h('h2', { id: 'log-health' }, 'Transparency log'),
    facts([
      ['Origin', origin ?? status.logOrigin],
      ['Entries', log.size ?? ''],
      ['Latest checkpoint size', size ?? log.checkpointSize ?? 'none yet'],
      [
        'Latest checkpoint age',
        cosignedAt.length === 0 ? 'not cosigned yet' : `cosigned ${ago(Math.max(...cosignedAt))}`,
      ],
      ['Latest cosigned size', log.cosignedSize ?? 'none yet'],
      [
        'Witnesses',
        `${cosignedAt.length} cosignatures on the latest checkpoint; ${
          log.witnesses?.total ?? 0
        } witnesses, quorum ${log.witnesses?.quorum ?? 0}`,
      ],
      ['Signatures on the latest checkpoint', cosigners.join(', ') || 'none'],
      ['Anchored size', log.anchoredSize ?? 'none yet'],
      ['Last anchoring error', log.lastAnchorError ?? 'none'],
    ]),
    h('h2', { id: 'anchoring' }, 'Anchoring'),
    table(
      'anchors-table',
      'Latest anchored checkpoint of each member’s log (CheckpointAnchor)',
      ['Member', 'Log origin', 'Anchored size', 'Anchored', 'Block'],
      members.map((m, i) => {
        const anchor = anchors[i];
        if (anchor instanceof Error) return [m.name, m.logOrigin, anchor.message, '', ''];
        if (anchor === undefined) return [m.name, m.logOrigin, 'not anchored yet', '', ''];
        return [
          m.name,
          m.logOrigin,
          String(anchor.treeSize),
          h('time', { datetime: new Date(anchor.anchoredAt * 1000).toISOString() }, ago(anchor.anchoredAt)),
          String(anchor.blockNumber),
        ];
      }),
      'No members.',
    ),
    h('h2', { id: 'members' }, 'Members'),
    table(
      'members-table',
      'Consortium members (from the ledger)',
      ['Name', 'Role', 'Status', 'Address', 'Log', 'Admitted at block'],
      members.map((m) => [
        m.name,
        m.role,
        m.status,
        h('code', {}, m.address),
        m.logOrigin,
        String(m.admittedBlock ?? ''),
      ]),
      'No members indexed yet.',
    ),
    h('h2', { id: 'proposals' }, 'Admission and removal votes'),
    proposals instanceof Error
      ? failed('the proposals', proposals)
      : table(
          'proposals-table',
          'Membership proposals and their votes (from the ledger)',
          ['Proposal', 'Kind', 'Member', 'Proposed by', 'Votes', 'Voted', 'Status'],
          proposals.map((p) => [
            p.id,
            p.kind,
            h('span', {}, p.subjectName ?? '', ' ', h('code', {}, p.subject)),
            p.proposerName ?? p.proposer,
            `${p.votes} of ${p.threshold}`,
            p.voters.map((v) => v.name ?? v.address).join(', '),
            p.status === 'pending' ? `pending until ${dateOf(p.expiresAt)}` : p.status,
          ]),
          'No proposals yet.',
        ),
    h('h2', { id: 'practitioners' }, 'Practitioner credentials'),
    practitionersBox,
    forms,
  );
  renderForms(forms);
}

function renderForms(forms: HTMLElement): void {
  if (adminToken === undefined) {
    const token = h('input', { type: 'password', id: 'admin-token', autocomplete: 'off', required: true });
    const form: HTMLFormElement = h(
      'form',
      {
        class: 'card',
        novalidate: true,
        onsubmit: async (event: Event) => {
          event.preventDefault();
          // An empty or wrong token would only fail at the first action, far from this field: refuse it here.
          if (token.value.trim() === '') {
            showFieldErrors(form, [{ field: 'token', message: ADMIN_TOKEN_MISSING }], { token });
            return;
          }
          // Checked with the node's one read-only operator call (the list of SMART clients) before use.
          try {
            await getJson('/admin/clients', { bearer: token.value.trim(), fhir: false });
          } catch (error) {
            const words =
              error instanceof ApiError && (error.status === 401 || error.status === 403)
                ? ADMIN_TOKEN_WRONG
                : `The token could not be checked: ${errorText(error)}`;
            showFieldErrors(form, [{ field: 'token', message: words }], { token });
            return;
          }
          adminToken = token.value.trim();
          renderForms(forms);
          forms.querySelector<HTMLElement>('h2')?.focus();
          void redrawPractitioners?.();
        },
      },
      h('h2', { tabindex: '-1' }, 'Operator actions'),
      field(
        'Admin token',
        token,
        'The admin.token file in the node’s folder. Kept in this tab’s memory only.',
      ),
      h('button', { type: 'submit' }, 'Use token'),
    );
    replace(forms, form);
    return;
  }
  const bearer = adminToken;
  const action = (
    id: string,
    title: string,
    fields: [string, HTMLInputElement | HTMLSelectElement, string?][],
    path: (v: Record<string, string>) => string,
    body: (v: Record<string, string>) => unknown,
  ) => {
    const out = h('div', {});
    return h(
      'form',
      {
        class: 'card',
        id,
        onsubmit: async (event: Event) => {
          event.preventDefault();
          const values = Object.fromEntries(fields.map(([, input]) => [input.name, input.value.trim()]));
          replace(
            out,
            h(
              'p',
              { class: 'meta', role: 'status' },
              'Sending the transaction and waiting for it to be mined…',
            ),
          );
          try {
            const answer = await sendJson(path(values), body(values), { bearer, fhir: false });
            // The node's answer (ids, a transaction hash) is for the operator's records, folded away.
            replace(
              out,
              message(
                'ok',
                `${title}: done.`,
                h(
                  'details',
                  {},
                  h('summary', {}, 'What the node answered'),
                  h('pre', {}, JSON.stringify(answer, null, 2)),
                ),
              ),
            );
          } catch (error) {
            replace(
              out,
              message(
                'error',
                error instanceof ApiError && error.status === 401
                  ? 'The node did not accept this admin token. Choose “Forget the admin token” and paste it again.'
                  : errorText(error),
              ),
            );
          }
        },
      },
      h('h3', {}, title),
      fields.map(([label, input, hint]) => field(label, input, hint)),
      h('button', { type: 'submit' }, title),
      out,
    );
  };
  const input = (name: string, extra: Record<string, string> = {}) =>
    h('input', { type: 'text', name, autocomplete: 'off', ...extra });
  replace(
    forms,
    h('h2', { tabindex: '-1' }, 'Operator actions'),
    h(
      'p',
      {},
      h(
        'button',
        {
          type: 'button',
          class: 'small',
          onclick: () => {
            adminToken = undefined;
            renderForms(forms);
            void redrawPractitioners?.();
          },
        },
        'Forget the admin token',
      ),
    ),
    action(
      'propose-form',
      'Propose a member',
      [
        ['Ledger address', input('account')],
        ['Name', input('name')],
        [
          'Role',
          h(
            'select',
            { name: 'role' },
            ROLES.slice(1).map((r) => h('option', { value: r }, r)),
          ),
        ],
        ['FHIR base URL', input('fhirBaseUrl')],
        ['Log origin', input('logOrigin')],
        ['Log verifier key', input('logVerifierKey')],
      ],
      () => '/admin/members/proposals',
      (v) => v,
    ),
    action(
      'vote-form',
      'Vote for a proposal',
      [['Proposal id', input('id', { inputmode: 'numeric' })]],
      (v) => `/admin/members/proposals/${encodeURIComponent(v.id ?? '')}/votes`,
      () => ({}),
    ),
    action(
      'practitioner-form',
      'Attest a practitioner',
      [
        ['Practitioner ledger address', input('practitioner')],
        [
          'Credential hash (keyed, 0x + 64 hex)',
          input('credentialHash'),
          'A keyed hash of the licence record, never the licence number itself.',
        ],
        ['Qualification code', input('qualificationCode', { value: 'MD' })],
        [
          'Attested until',
          input('expiresAt', {
            type: 'date',
            value: new Date(Date.now() + 365 * 86_400_000).toISOString().slice(0, 10),
          }),
          'The attestation ends at the end of this day (UTC).',
        ],
      ],
      () => '/admin/practitioners',
      // The ledger takes unix seconds; a person picks a date (issue 22 walk-through).
      (v) => ({ ...v, expiresAt: Math.floor(Date.parse(`${v.expiresAt}T23:59:59Z`) / 1000) }),
    ),
  );
}
