/**
 * The node's practitioners by name with the standing of their licence on the ledger now (issue 21
 * item 4, decision 0028): valid, suspended, revoked, expired, or why none is known. Read from
 * /admin/credentials/practitioners with the operator's admin token, kept in this module's memory only.
 */
import { ApiError, errorText, getJson } from '../api.js';
import { field, formatDate, h, message, replace } from '../dom.js';
import { showFieldErrors } from '../field-errors.js';
import { ADMIN_TOKEN_MISSING, ADMIN_TOKEN_WRONG } from './admin-operator-forms.js';

interface PractitionerLicence {
  readonly name: string;
  readonly practitioner: string;
  readonly roles: readonly string[];
  readonly status: string;
  readonly qualification: string | null;
  readonly licenseNumber: string | null;
  readonly jurisdiction: string | null;
  readonly validUntil: string | null;
}

let adminToken: string | undefined;

/** A licence standing in words an administrator acts on. */
export function standingWords(status: string): { ok: boolean; text: string } {
  if (status === 'valid') return { ok: true, text: 'Valid' };
  const words: Record<string, string> = {
    suspended: 'Suspended by the licensing board',
    revoked: 'Revoked by the licensing board',
    expired: 'Expired',
    'not-yet-valid': 'Not yet valid',
    'issuer-not-admitted': 'Issued by a board the consortium has not admitted',
    'wrong-subject': 'Licence of another person',
    'attestation-revoked': 'Attestation withdrawn by this member',
    'attestation-expired': 'Attestation expired',
    'status-unavailable': 'Ledger unreachable: treated as not valid',
  };
  return { ok: false, text: words[status] ?? `No licence on the ledger (${status})` };
}

export async function renderCredentialsPractitioners(main: HTMLElement): Promise<void> {
  const heading = h('h1', { tabindex: '-1' }, 'Practitioner licences');
  const intro = h(
    'p',
    {},
    'Each practitioner of this node with their licence as the ledger says now. A licence the board suspends or revokes stops their access at every member at the next block.',
  );
  const body = h('div', {});
  replace(main, heading, intro, body);
  if (adminToken === undefined) {
    replace(body, tokenForm(main));
    return;
  }
  try {
    const [{ practitioners }, { required }] = await Promise.all([
      getJson<{ practitioners: PractitionerLicence[] }>('/admin/credentials/practitioners', {
        bearer: adminToken,
      }),
      getJson<{ required: boolean }>('/admin/credentials/enforcement', { bearer: adminToken }),
    ]);
    const rows = practitioners.map((p) => {
      const standing = standingWords(p.status);
      return h(
        'tr',
        {},
        h('th', { scope: 'row' }, p.name),
        h('td', { 'data-label': 'Roles' }, p.roles.join(', ')),
        h('td', { 'data-label': 'Qualification' }, p.qualification ?? '—'),
        h(
          'td',
          { 'data-label': 'Licence' },
          p.licenseNumber === null ? '—' : `${p.licenseNumber} (${p.jurisdiction ?? ''})`,
        ),
        h('td', { 'data-label': 'Valid until' }, p.validUntil === null ? '—' : formatDate(p.validUntil)),
        h('td', { 'data-label': 'Standing', class: standing.ok ? 'ok' : 'error' }, standing.text),
      );
    });
    replace(
      body,
      message(
        required ? 'ok' : 'info',
        required
          ? 'This node refuses practitioners without a valid licence.'
          : 'This node does not check licences yet (practitionerCredentials in node.json).',
      ),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'practitioner-licences', class: 'stack' },
          h('caption', {}, 'Practitioners and their licences'),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Name', 'Roles', 'Qualification', 'Licence', 'Valid until', 'Standing'].map((x) =>
                h('th', { scope: 'col' }, x),
              ),
            ),
          ),
          h(
            'tbody',
            {},
            rows.length === 0
              ? h('tr', {}, h('td', { colspan: '6', 'data-label': '' }, 'No practitioners at this node.'))
              : rows,
          ),
        ),
      ),
    );
  } catch (error) {
    adminToken = undefined;
    // The form again, with the reason beside its field: not a dead end that needs a reload.
    const words =
      error instanceof ApiError && (error.status === 401 || error.status === 403)
        ? ADMIN_TOKEN_WRONG
        : `The licences could not be loaded: ${errorText(error)}`;
    const form = tokenForm(main);
    replace(body, form);
    showFieldErrors(form, [{ field: 'token', message: words }], {
      token: form.querySelector('input') as HTMLInputElement,
    });
  }
}

/** The admin token form; an empty token is refused beside the field (not silently ignored). */
function tokenForm(main: HTMLElement): HTMLFormElement {
  const token = h('input', { type: 'password', id: 'credentials-admin-token', autocomplete: 'off' });
  const form: HTMLFormElement = h(
    'form',
    {
      class: 'card',
      novalidate: true,
      onsubmit: (event: Event) => {
        event.preventDefault();
        if (token.value.trim() === '') {
          showFieldErrors(form, [{ field: 'token', message: ADMIN_TOKEN_MISSING }], { token });
          return;
        }
        adminToken = token.value.trim();
        void renderCredentialsPractitioners(main);
      },
    },
    field('Admin token', token, 'The admin.token file in the node’s folder. Kept in this tab’s memory only.'),
    h('button', { type: 'submit' }, 'Show licences'),
  );
  return form;
}
