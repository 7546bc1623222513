/**
 * The administration page's operator actions: the node's admin token, checked before it is used and
 * kept in this module's memory only (gone on reload, never stored), and the forms that send ledger
 * transactions with it (propose a member, vote, attest a practitioner).
 */
import { ApiError, errorText, getJson, sendJson } from '../api.js';
import { field, h, message, replace } from '../dom.js';
import { showFieldErrors } from '../field-errors.js';

let adminToken: string | undefined;
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

/** The admin token the operator gave on this page, if any. */
export function adminTokenInUse(): string | undefined {
  return adminToken;
}

/**
 * Draws the token form, or, once a token is accepted, the operator's forms; `onTokenChange` runs when
 * the token is accepted or forgotten (the page shows practitioners' names only with it).
 */
export function renderOperatorForms(forms: HTMLElement, onTokenChange: () => void): void {
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
          renderOperatorForms(forms, onTokenChange);
          forms.querySelector<HTMLElement>('h2')?.focus();
          onTokenChange();
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
            renderOperatorForms(forms, onTokenChange);
            onTokenChange();
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
