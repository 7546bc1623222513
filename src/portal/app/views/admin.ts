/**
 * Node administration: members and admission votes, practitioner credentials, the log's health,
 * witnesses, anchoring and chain sync. The operator pastes the node's admin token; it is kept in this
 * module's memory only (gone on reload), never stored.
 */
import { errorText, request, sendJson } from '../api.js';
import { consortiumMembers, nodeStatus } from '../context.js';
import { field, h, message, replace } from '../dom.js';

let adminToken: string | undefined;
const ROLES = ['', 'provider', 'lab', 'pharmacy', 'payer', 'research', 'manufacturer', 'distributor'];

function facts(entries: [string, unknown][]): HTMLElement {
  return h(
    'dl',
    { class: 'facts' },
    entries.flatMap(([k, v]) => [
      h('dt', {}, k),
      h('dd', {}, typeof v === 'object' ? JSON.stringify(v) : String(v ?? '')),
    ]),
  );
}

export async function renderAdmin(main: HTMLElement): Promise<void> {
  const [status, members, checkpoint] = await Promise.all([
    nodeStatus(true),
    consortiumMembers(true),
    request('/log/checkpoint', { headers: { accept: 'text/plain' } })
      .then((r) => r.text())
      .catch(() => ''),
  ]);
  const cosigners = checkpoint
    .split('\n')
    .filter((l) => l.startsWith('\u2014 '))
    .map((l) => l.slice(2).split(' ')[0] ?? '');
  const [origin, size] = checkpoint.split('\n');
  const log = (status.log ?? {}) as Record<string, unknown>;
  const forms = h('div', { id: 'admin-forms' });
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
    h('h2', {}, 'Chain sync and outbox'),
    facts(
      Object.entries({
        ...(status.sync ?? {}),
        ...Object.fromEntries(Object.entries(status.outbox ?? {}).map(([k, v]) => [`outbox ${k}`, v])),
      }),
    ),
    h('h2', {}, 'Transparency log'),
    facts([
      ['Origin', origin ?? status.logOrigin],
      ['Signed size', size ?? ''],
      ['Signatures on the latest checkpoint', cosigners.join(', ') || 'none'],
      ...Object.entries(log),
    ]),
    h('h2', {}, 'Members'),
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { id: 'members-table' },
        h('caption', {}, 'Consortium members (from the ledger)'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['Name', 'Role', 'Status', 'Address', 'Log', 'Admitted at block'].map((x) =>
              h('th', { scope: 'col' }, x),
            ),
          ),
        ),
        h(
          'tbody',
          {},
          members.map((m) =>
            h(
              'tr',
              {},
              h('td', {}, m.name),
              h('td', {}, ROLES[m.role] ?? String(m.role)),
              h('td', {}, m.status),
              h('td', {}, h('code', {}, m.address)),
              h('td', {}, m.logOrigin),
              h('td', {}, String(m.admittedBlock ?? '')),
            ),
          ),
        ),
      ),
    ),
    forms,
  );
  renderForms(forms);
}

function renderForms(forms: HTMLElement): void {
  if (adminToken === undefined) {
    const token = h('input', { type: 'password', id: 'admin-token', autocomplete: 'off', required: true });
    replace(
      forms,
      h(
        'form',
        {
          class: 'card',
          onsubmit: (event: Event) => {
            event.preventDefault();
            adminToken = token.value.trim();
            renderForms(forms);
          },
        },
        h('h2', {}, 'Operator actions'),
        field(
          'Admin token',
          token,
          'The admin.token file in the node’s folder. Kept in this tab’s memory only.',
        ),
        h('button', { type: 'submit' }, 'Use token'),
      ),
    );
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
            replace(out, message('ok', `Done: ${JSON.stringify(answer)}`));
          } catch (error) {
            replace(out, message('error', errorText(error)));
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
    h('h2', {}, 'Operator actions'),
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
          'Expires (unix seconds)',
          input('expiresAt', {
            inputmode: 'numeric',
            value: String(Math.floor(Date.now() / 1000) + 365 * 86_400),
          }),
        ],
      ],
      () => '/admin/practitioners',
      (v) => ({ ...v, expiresAt: Number(v.expiresAt) }),
    ),
  );
}
