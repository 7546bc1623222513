/**
 * The consent manager: who may see which categories of the patient's records, for which purposes,
 * until when. Grants and revocations are EIP-712 messages signed in this browser with the patient's
 * key (src/ledger/eip712.ts) and relayed by the node (POST /fhir/Consent, $revoke); the list is read
 * from the node's index of the ledger. The ledger holds only a salted commitment to each grant's terms
 * (decision 0013): what a grant covers is shown from the patient's own FHIR Consent.
 */
import { type Hex, hashTypedData } from 'viem';
import { signTypedData } from 'viem/accounts';
import {
  DATA_CATEGORIES,
  type DataCategory,
  encodeCategories,
  encodePurposes,
  PURPOSE_OF_USE_SYSTEM,
  PURPOSES_OF_USE,
} from '../../../ledger/codes.js';
import {
  createConsentDomain,
  createGrantSalt,
  createGrantTypedData,
  createRevokeTypedData,
} from '../../../ledger/eip712.js';
import { errorText, getJson, searchAll, sendJson } from '../api.js';
import { categoryHint } from '../category-words.js';
import { confirmInline } from '../confirm.js';
import { consortiumMembers, type Member, memberName, nodeStatus, unlockedKey } from '../context.js';
import { announce, field, formatDate, h, message, replace, uid } from '../dom.js';
import type { Resource } from '../fhir-display.js';
import { waitForLedger } from '../ledger-index.js';
import { loadDirectory, withPractitionerNames } from '../people.js';
import { patientId, session } from '../session.js';
import { toHex } from '../verify/bytes.js';
import { categoryNames, grantSummary, type PersonDirectory, personName, purposeWords } from '../words.js';
import { keyUnlockForm } from './key-unlock.js';

export const LEDGER_ADDRESS_SYSTEM = 'https://careledger.dev/fhir/sid/ledger-address';
const LEDGER_CONSENT_EXTENSION = 'https://careledger.dev/fhir/StructureDefinition/ledger-consent';
const DATA_CATEGORY_SYSTEM = 'https://careledger.dev/fhir/CodeSystem/data-category';
const CONSENT_GRANT_SYSTEM = 'https://careledger.dev/fhir/sid/consent-grant';

interface LedgerGrant {
  grantId: Hex;
  grantee: string;
  termsHash: Hex;
  notBefore: number;
  notAfter: number;
  revokedAt: number | null;
  blockNumber: number;
  txHash: string;
}

interface ConsentResource extends Resource {
  status?: string;
  identifier?: { system?: string; value?: string }[];
  /** Who asked, on a request for access (a proposed Consent). */
  performer?: { reference?: string }[];
  provision?: {
    actor?: { reference?: { identifier?: { value?: string }; display?: string } }[];
    class?: { code?: string }[];
    purpose?: { code?: string }[];
    period?: { start?: string; end?: string };
  };
  extension?: { url?: string; extension?: { url?: string; valueString?: string }[] }[];
}

/** The patient's ledger address: the unlocked key's, else the Patient resource's ledger identifier. */
async function patientAddress(): Promise<string | undefined> {
  const key = unlockedKey();
  if (key !== undefined) return key.address;
  const patient = await getJson<{ identifier?: { system?: string; value?: string }[] }>(
    `/fhir/Patient/${encodeURIComponent(patientId(session()))}`,
  );
  return patient.identifier?.find((i) => i.system === LEDGER_ADDRESS_SYSTEM)?.value;
}

function grantStatus(g: LedgerGrant, now: number): { text: string; active: boolean } {
  if (g.revokedAt !== null)
    return { text: `revoked ${formatDate(new Date(g.revokedAt * 1000).toISOString())}`, active: false };
  if (now >= g.notAfter) return { text: 'expired', active: false };
  if (now < g.notBefore) return { text: 'not yet in force', active: true };
  return { text: 'in force', active: true };
}

let directory: PersonDirectory | undefined;

/**
 * Who a grant names, in words: a member's name; a practitioner attested on the ledger as "a clinician
 * of <member>"; else the address, shortened.
 */
function granteeName(address: string, members?: readonly Member[]): string {
  const name = memberName(address, members);
  if (name !== address) return name;
  const person = directory === undefined ? undefined : personName(`Practitioner/${address}`, directory);
  return person !== undefined && person !== 'a clinician'
    ? person
    : `the address ${address.slice(0, 6)}…${address.slice(-4)}`;
}

async function nextNonce(address: string): Promise<bigint> {
  return BigInt((await getJson<{ nonce: string }>(`/portal/api/consent-nonce?patient=${address}`)).nonce);
}

async function domain() {
  const status = await nodeStatus();
  return createConsentDomain(status.chain.chainId, status.chain.contracts.consentRegistry as Hex);
}

export async function renderConsent(main: HTMLElement): Promise<void> {
  replace(main, h('h1', { tabindex: '-1' }, 'Sharing'), message('info', 'Loading your consents…'));
  const [address, members, consents] = await Promise.all([
    patientAddress(),
    consortiumMembers(),
    searchAll<ConsentResource>(
      `/fhir/Consent?patient=${encodeURIComponent(patientId(session()))}&_count=100`,
    ),
  ]);
  directory = await loadDirectory(members)
    .then((d) =>
      withPractitionerNames(
        d,
        consents.map((c) => c.performer?.[0]?.reference),
      ),
    )
    .catch(() => undefined);
  const grants =
    address === undefined
      ? []
      : (await getJson<{ grants: LedgerGrant[] }>(`/ledger/consent/grants?patient=${address}`)).grants;
  const status = h('div', { id: 'consent-status' });
  const rerender = () => renderConsent(main);
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Sharing'),
    h(
      'p',
      {},
      'You decide which members of the consortium may see which parts of your records, for what purpose and until when. Each decision is signed with your own key in this browser and recorded on the consortium ledger; no member can forge or change it.',
    ),
    status,
    requestsSection(consents, members, status, rerender),
    grantsSection(grants, consents, members, address, status, rerender),
    grantForm(members, status, rerender),
  );
}

function requestsSection(
  consents: ConsentResource[],
  members: Member[],
  status: HTMLElement,
  rerender: () => Promise<void>,
): HTMLElement | null {
  const proposals = consents.filter((c) => c.status === 'proposed');
  if (proposals.length === 0) return null;
  return h(
    'section',
    { 'aria-labelledby': 'requests-h' },
    h('h2', { id: 'requests-h' }, 'Requests for access'),
    h(
      'ul',
      { class: 'cards' },
      proposals.map((p) => {
        const grantee = p.provision?.actor?.[0]?.reference?.identifier?.value ?? '';
        // The requester by name ("Dr Meredith Grey, Riverside General Hospital"), not the actor's
        // display, which the node writes as "Practitioner/<id> (<organization>)" (issue 22).
        const requester = p.performer?.[0]?.reference;
        const named =
          requester === undefined || directory === undefined ? undefined : personName(requester, directory);
        const who =
          named === undefined || named.startsWith('a clinician')
            ? `A clinician of ${memberName(grantee, members)}`
            : named;
        return h(
          'li',
          { class: 'card' },
          h(
            'p',
            {},
            `${who} asks to see your records ${purposeWords((p.provision?.purpose ?? []).map((x) => x.code ?? '')) || 'for your treatment'}.`,
          ),
          h(
            'button',
            {
              type: 'button',
              onclick: () => {
                const form = document.getElementById('grant-form') as HTMLFormElement | null;
                if (form === null) return;
                (form.querySelector('#grantee') as HTMLSelectElement).value = grantee;
                for (const box of form.querySelectorAll<HTMLInputElement>('input[name=purpose]'))
                  box.checked = (p.provision?.purpose ?? []).some((x) => x.code === box.value);
                const classes = (p.provision?.class ?? []).map((x) => x.code);
                if (classes.length > 0)
                  for (const box of form.querySelectorAll<HTMLInputElement>('input[name=category]'))
                    box.checked = classes.includes(box.value);
                form.querySelector<HTMLElement>('legend, select')?.focus();
                announce('The grant form below is filled in from the request. Review it and sign.');
                void status;
                void rerender;
              },
            },
            'Review and grant',
          ),
        );
      }),
    ),
  );
}

function grantsSection(
  grants: LedgerGrant[],
  consents: ConsentResource[],
  members: Member[],
  address: string | undefined,
  status: HTMLElement,
  rerender: () => Promise<void>,
): HTMLElement {
  const now = Math.floor(Date.now() / 1000);
  const consentOf = (grantId: string) =>
    consents.find((c) =>
      c.identifier?.some(
        (i) => i.system === CONSENT_GRANT_SYSTEM && i.value?.toLowerCase() === grantId.toLowerCase(),
      ),
    );
  // The ledger shows only a commitment to the terms; the patient's own Consent holds them.
  const termsOf = (g: LedgerGrant, part: 'class' | 'purpose') =>
    consentOf(g.grantId)?.provision?.[part]?.map((c) => c.code ?? '');
  const onLedger = new Set(grants.map((g) => g.grantId.toLowerCase()));
  const waiting = consents.filter(
    (c) =>
      c.status === 'active' &&
      !c.identifier?.some(
        (i) => i.system === CONSENT_GRANT_SYSTEM && onLedger.has((i.value ?? '').toLowerCase()),
      ),
  );
  const rows = grants
    .sort((a, b) => b.blockNumber - a.blockNumber)
    .map((g) => {
      const s = grantStatus(g, now);
      return h(
        'tr',
        { 'data-grant-id': g.grantId },
        h('td', { 'data-label': 'Who' }, granteeName(g.grantee, members)),
        h(
          'td',
          { 'data-label': 'What' },
          categoryNames(termsOf(g, 'class') ?? []).join(', ') || 'kept off the ledger',
        ),
        h(
          'td',
          { 'data-label': 'Purpose' },
          purposeWords(termsOf(g, 'purpose') ?? []) || 'kept off the ledger',
        ),
        h(
          'td',
          { 'data-label': 'Valid' },
          `${formatDate(new Date(g.notBefore * 1000).toISOString())} – ${formatDate(new Date(g.notAfter * 1000).toISOString())}`,
        ),
        h(
          'td',
          { 'data-label': 'Status' },
          h('span', { class: `badge ${s.active ? 'badge-ok' : 'badge-muted'}` }, s.text),
          h('br'),
          h('span', { class: 'meta' }, `on the ledger, block ${g.blockNumber}`),
        ),
        h(
          'td',
          { class: 'actions' },
          g.revokedAt === null && now < g.notAfter
            ? h(
                'button',
                {
                  type: 'button',
                  class: 'small danger',
                  'aria-label': `Revoke the grant to ${granteeName(g.grantee, members)}`,
                  onclick: () => void confirmRevoke(g, consentOf(g.grantId), address, status, rerender),
                },
                'Revoke',
              )
            : '',
        ),
      );
    });
  return h(
    'section',
    { 'aria-labelledby': 'grants-h' },
    h('h2', { id: 'grants-h' }, 'Your grants'),
    waiting.length === 0
      ? null
      : message('info', `${waiting.length} grant(s) signed and sent, waiting for the ledger to record them.`),
    grants.length === 0
      ? h(
          'p',
          {},
          'You have not granted access to anyone yet. Members’ own clinicians still see ordinary records for your treatment; sensitive records need your grant.',
        )
      : h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { id: 'grants-table', class: 'stack' },
            h('caption', {}, 'Your grants on the consortium ledger'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Who', 'What', 'Purpose', 'Valid', 'Status', ''].map((x) => h('th', { scope: 'col' }, x)),
              ),
            ),
            h('tbody', {}, rows),
          ),
        ),
  );
}

async function withKey(status: HTMLElement, purpose: string, then: () => Promise<void>): Promise<boolean> {
  if (unlockedKey() !== undefined) return true;
  replace(
    status,
    keyUnlockForm(async () => {
      replace(status);
      await then();
    }, purpose),
  );
  status.querySelector('input')?.focus();
  return false;
}

/** Issue 22: a revocation is confirmed first, with what it cannot undo (copies already fetched). */
async function confirmRevoke(
  g: LedgerGrant,
  consent: ConsentResource | undefined,
  address: string | undefined,
  status: HTMLElement,
  rerender: () => Promise<void>,
): Promise<void> {
  const who = granteeName(g.grantee);
  const yes = await confirmInline(status, {
    title: `Revoke the grant to ${who}?`,
    paragraphs: [
      `${who} will no longer be able to fetch your records under this grant once each member's node sees the revocation on the ledger (usually within seconds).`,
      `Copies of your records that ${who} already fetched stay with ${who}: revoking does not delete them. You can ask ${who} to delete them.`,
    ],
    confirmLabel: 'Revoke',
    danger: true,
  });
  if (yes) await revoke(g, consent, address, status, rerender);
}

/** After a re-render, the result is announced where the person's focus lands (issue 22: focus kept). */
function showResult(kind: 'ok' | 'error', text: string): void {
  const done = document.getElementById('consent-status');
  if (done === null) return;
  replace(done, message(kind, text));
  done.setAttribute('tabindex', '-1');
  done.focus();
}

async function revoke(
  g: LedgerGrant,
  consent: ConsentResource | undefined,
  address: string | undefined,
  status: HTMLElement,
  rerender: () => Promise<void>,
): Promise<void> {
  if (
    !(await withKey(status, 'Revoking needs your signature.', () =>
      revoke(g, consent, address, status, rerender),
    ))
  )
    return;
  const key = unlockedKey();
  if (key === undefined || address === undefined) return;
  replace(status, message('info', 'Signing the revocation in your browser and sending it…'));
  try {
    const nonce = await nextNonce(key.address);
    const revokeMessage = { patient: key.address as Hex, grantId: g.grantId, nonce };
    const signature = await signTypedData({
      privateKey: `0x${toHex(key.privateKey)}`,
      ...createRevokeTypedData(await domain(), revokeMessage),
    });
    if (consent?.id !== undefined) {
      await sendJson(`/fhir/Consent/${consent.id}/$revoke`, {
        resourceType: 'Parameters',
        parameter: [
          { name: 'nonce', valueString: nonce.toString() },
          { name: 'signature', valueString: signature },
        ],
      });
    } else {
      await sendJson(
        '/ledger/consent/revocations?wait=true',
        { revoke: { ...revokeMessage, nonce: nonce.toString() }, signature },
        { fhir: false },
      );
    }
    await waitForLedger(key.address, g.grantId, true);
    await rerender();
    showResult(
      'ok',
      `Revoked the grant to ${granteeName(g.grantee)}. Access stops as soon as each member's node sees the revocation on the ledger. Copies it already fetched stay with it.`,
    );
    announce('Grant revoked.');
  } catch (error) {
    replace(status, message('error', `The revocation was not accepted: ${errorText(error)}`));
  }
}

function checkboxes(
  name: string,
  legend: string,
  options: [string, string, string?][],
  checked: string[],
): HTMLFieldSetElement {
  return h(
    'fieldset',
    {},
    h('legend', {}, legend),
    h(
      'div',
      { class: options.some(([, , hint]) => hint !== undefined) ? 'checks described' : 'checks' },
      options.map(([value, label, hint]) => {
        const id = uid(name);
        const box = h(
          'label',
          { for: id },
          h('input', {
            type: 'checkbox',
            id,
            name,
            value,
            checked: checked.includes(value),
            'aria-describedby': hint === undefined || hint === '' ? undefined : `${id}-hint`,
          }),
          label,
        );
        return hint === undefined || hint === ''
          ? box
          : h('div', { class: 'check-item' }, box, h('p', { class: 'hint', id: `${id}-hint` }, hint));
      }),
    ),
  );
}

function grantForm(members: Member[], status: HTMLElement, rerender: () => Promise<void>): HTMLElement {
  const grantee = h(
    'select',
    { id: 'grantee', required: true },
    members.filter((m) => m.status === 'active').map((m) => h('option', { value: m.address }, m.name)),
    h('option', { value: 'other' }, 'Someone else (ledger address)…'),
  );
  const other = h('input', {
    type: 'text',
    id: 'grantee-other',
    inputmode: 'text',
    autocomplete: 'off',
    pattern: '0x[0-9a-fA-F]{40}',
    placeholder: '0x…',
  });
  const until = h('input', {
    type: 'date',
    id: 'not-after',
    required: true,
    value: new Date(Date.now() + 90 * 86_400_000).toISOString().slice(0, 10),
    min: new Date(Date.now() + 86_400_000).toISOString().slice(0, 10),
  });
  const out = h('div', {});
  const confirmHost = h('div', {});
  const summary = h('p', { id: 'grant-summary', class: 'card grant-summary', 'aria-live': 'polite' });
  let unknownConfirmed = '';
  const form: HTMLFormElement = h(
    'form',
    {
      id: 'grant-form',
      class: 'card',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        await submit();
      },
    },
    h('h2', { id: 'grant-h' }, 'Give access'),
    field(
      'Who may see your records',
      grantee,
      'A member organization of the consortium, or a practitioner’s ledger address.',
    ),
    field('Ledger address (if someone else)', other),
    checkboxes(
      'category',
      'Which records',
      Object.entries(DATA_CATEGORIES).map(([k, v]) => [k, v.display, categoryHint(k as DataCategory)]),
      ['laboratory'],
    ),
    checkboxes(
      'purpose',
      'For what purpose',
      // Capitalised as the category boxes are ("Treatment", not "treatment").
      Object.entries(PURPOSES_OF_USE).map(([k, v]) => [
        k,
        `${v.display.charAt(0).toUpperCase()}${v.display.slice(1)}`,
      ]),
      ['TREAT'],
    ),
    field('Until (inclusive)', until),
    summary,
    h('button', { type: 'submit', class: 'primary', id: 'grant-submit' }, 'Sign and grant access'),
    confirmHost,
    out,
  );
  // What the grant will do, in words, kept current as the person changes the form (issue 22 item 1).
  const describe = () => {
    const to = grantee.value === 'other' ? other.value.trim() : grantee.value;
    summary.textContent = grantSummary({
      grantee: grantee.value === 'other' ? to || 'The address you give' : memberName(to, members),
      categories: checkedValues('category'),
      purposes: checkedValues('purpose'),
      until: formatDate(until.value),
    });
  };
  const checkedValues = (name: string) =>
    [...form.querySelectorAll<HTMLInputElement>(`input[name=${name}]:checked`)].map((b) => b.value);
  form.addEventListener('change', describe);
  form.addEventListener('input', describe);
  describe();

  async function submit(): Promise<void> {
    const categories = [...form.querySelectorAll<HTMLInputElement>('input[name=category]:checked')].map(
      (b) => b.value,
    );
    const purposes = [...form.querySelectorAll<HTMLInputElement>('input[name=purpose]:checked')].map(
      (b) => b.value,
    );
    const to = grantee.value === 'other' ? other.value.trim() : grantee.value;
    if (!/^0x[0-9a-fA-F]{40}$/.test(to))
      return replace(
        out,
        message('error', 'Choose a member or give a ledger address (0x and 40 hex digits).'),
      );
    if (categories.length === 0 || purposes.length === 0)
      return replace(out, message('error', 'Choose at least one kind of record and one purpose.'));
    // Issue 22: an address that is not a member of the consortium is confirmed before anything is signed.
    const known = members.some((m) => m.status === 'active' && m.address.toLowerCase() === to.toLowerCase());
    if (!known && unknownConfirmed !== to.toLowerCase()) {
      const yes = await confirmInline(confirmHost, {
        title: 'This address is not a member of the consortium',
        paragraphs: [
          `${to} is not one of the consortium's member organizations. It may be a practitioner's own ledger address, or a mistake.`,
          'Whoever holds its key will be able to fetch the records you chose until you revoke; copies fetched stay with them. Grant only if you know whose address it is.',
        ],
        confirmLabel: 'Grant to this address',
        danger: true,
      });
      if (!yes) return;
      unknownConfirmed = to.toLowerCase();
    }
    if (!(await withKey(out, 'Granting needs your signature.', submit))) return;
    const key = unlockedKey();
    if (key === undefined) return;
    const button = form.querySelector('#grant-submit') as HTMLButtonElement;
    button.disabled = true;
    replace(out, message('info', 'Signing the grant in your browser and sending it to the ledger…'));
    try {
      const notBefore = BigInt(Math.floor(Date.now() / 1000) - 60);
      const notAfter = BigInt(Math.floor(Date.parse(`${until.value}T23:59:59Z`) / 1000));
      const nonce = await nextNonce(key.address);
      const grant = {
        patient: key.address as Hex,
        grantee: to as Hex,
        categories: encodeCategories(categories),
        purposes: encodePurposes(purposes),
        salt: createGrantSalt(),
        notBefore,
        notAfter,
        nonce,
      };
      const typed = createGrantTypedData(await domain(), grant);
      const signature = await signTypedData({ privateKey: `0x${toHex(key.privateKey)}`, ...typed });
      const grantId = hashTypedData(typed);
      const memberList = await consortiumMembers();
      const consent = {
        resourceType: 'Consent',
        status: 'active',
        scope: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
        },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        patient: { reference: `Patient/${patientId(session())}` },
        dateTime: new Date().toISOString(),
        policyRule: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }],
        },
        provision: {
          type: 'permit',
          period: {
            start: new Date(Number(notBefore) * 1000).toISOString(),
            end: new Date(Number(notAfter) * 1000).toISOString(),
          },
          actor: [
            {
              role: {
                coding: [
                  { system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' },
                ],
              },
              reference: {
                identifier: { system: LEDGER_ADDRESS_SYSTEM, value: to },
                display: memberName(to, memberList),
              },
            },
          ],
          purpose: purposes.map((code) => ({ system: PURPOSE_OF_USE_SYSTEM, code })),
          class: categories.map((code) => ({ system: DATA_CATEGORY_SYSTEM, code })),
        },
        extension: [
          {
            url: LEDGER_CONSENT_EXTENSION,
            extension: [
              { url: 'nonce', valueString: nonce.toString() },
              // Opens the ledger's commitment to these terms; kept by this node and the enforcing members.
              { url: 'salt', valueString: grant.salt },
              { url: 'signature', valueString: signature },
            ],
          },
        ],
      };
      await sendJson('/fhir/Consent', consent);
      await waitForLedger(key.address, grantId);
      await rerender();
      showResult(
        'ok',
        `Access granted to ${memberName(to, memberList)} and recorded on the ledger (grant ${grantId.slice(0, 10)}…).`,
      );
      announce('Access granted.');
    } catch (error) {
      replace(out, message('error', `The grant was not accepted: ${errorText(error)}`));
      button.disabled = false;
    }
  }
  void status;
  return form;
}
