/**
 * Acting for someone (decision 0021): a parent, guardian or proxy signs consent for a ward in this
 * browser with their delegate key for that ward, derived from their own unlocked key and the ward's
 * ledger address (`createWardDelegate`). The page shows that key's address and signed acceptance for
 * the registrar to attest; grants are signed with it and relayed by the node. The ledger sees only
 * the per-ward address: never this user's own, and another address for each ward.
 */
import { getAddress, type Hex, hashTypedData, isAddress } from 'viem';
import { signTypedData } from 'viem/accounts';
import { createWardDelegate } from '../../../consent/ward-delegate.js';
import {
  DATA_CATEGORIES,
  type DataCategory,
  encodeCategories,
  encodePurposes,
  PURPOSES_OF_USE,
} from '../../../ledger/codes.js';
import { createConsentDomain, createGrantSalt, createGrantTypedData } from '../../../ledger/eip712.js';
import { errorText, getJson, sendJson } from '../api.js';
import { categoryHint } from '../category-words.js';
import { consortiumMembers, memberName, nodeStatus, unlockedKey } from '../context.js';
import { announce, field, h, message, replace } from '../dom.js';
import { clearFieldErrors, showFieldErrors } from '../field-errors.js';
import { toHex } from '../verify/bytes.js';
import { keyUnlockForm } from './key-unlock.js';

async function domain() {
  const status = await nodeStatus();
  return createConsentDomain(status.chain.chainId, status.chain.contracts.consentRegistry as Hex);
}

/** The unlocked key's delegate for `ward`: its key, address and DelegateKey acceptance. */
async function wardDelegate(ward: Hex) {
  const key = unlockedKey();
  if (key === undefined) throw new Error('unlock your key first');
  return createWardDelegate(`0x${toHex(key.privateKey)}`, ward, await domain());
}

export const WARD_ADDRESS_MISSING =
  'Give the ledger address of the person you act for: 0x then 40 letters and digits, as on their registration.';

export async function renderGuardian(main: HTMLElement): Promise<void> {
  const members = (await consortiumMembers()).filter((m) => m.status === 'active');
  const ward = h('input', {
    type: 'text',
    id: 'ward-address',
    required: true,
    autocomplete: 'off',
    pattern: '0x[0-9a-fA-F]{40}',
    placeholder: '0x…',
  });
  const grantee = h(
    'select',
    { id: 'ward-grantee', required: true },
    members.map((m) => h('option', { value: m.address }, m.name)),
  );
  const category = h(
    'select',
    { id: 'ward-category', required: true },
    Object.entries(DATA_CATEGORIES).map(([k, v]) => h('option', { value: k }, v.display)),
  );
  const purpose = h(
    'select',
    { id: 'ward-purpose', required: true },
    Object.entries(PURPOSES_OF_USE).map(([k, v]) =>
      h('option', { value: k }, `${v.display.charAt(0).toUpperCase()}${v.display.slice(1)}`),
    ),
  );
  // What the chosen category shares, said under the list as on the patient's own grant form (decision 0049).
  category.addEventListener('change', () => {
    const hint = document.getElementById(`${category.id}-hint`);
    if (hint !== null) hint.textContent = categoryHint(category.value as DataCategory);
  });
  const until = h('input', {
    type: 'date',
    id: 'ward-not-after',
    required: true,
    value: new Date(Date.now() + 90 * 86_400_000).toISOString().slice(0, 10),
  });
  const keyOut = h('div', { id: 'ward-key-out' });
  const grantOut = h('div', { id: 'ward-grant-out', role: 'status' });
  const unlock = h('div', {});

  // Said beside the address field, focus on it (WCAG 3.3.1), whichever button needed it.
  const parsedWard = (out: HTMLElement): Hex | undefined => {
    const text = ward.value.trim();
    replace(out);
    if (isAddress(text, { strict: false })) {
      clearFieldErrors(main);
      return getAddress(text);
    }
    showFieldErrors(main, [{ field: 'ward', message: WARD_ADDRESS_MISSING }], { ward });
    return undefined;
  };
  const withKey = (then: () => Promise<void>): boolean => {
    if (unlockedKey() !== undefined) return true;
    replace(
      unlock,
      keyUnlockForm(async () => {
        replace(unlock);
        await then();
      }, 'Acting for someone needs your key.'),
    );
    return false;
  };

  async function showKey(): Promise<void> {
    const address = parsedWard(keyOut);
    if (address === undefined || !withKey(showKey)) return;
    const d = await wardDelegate(address);
    replace(
      keyOut,
      h(
        'p',
        {},
        'Give this to the registrar who records you as their guardian. It is a key for this person only: your own address is not in it.',
      ),
      h('dl', {}, h('dt', {}, 'Your key for them'), h('dd', { id: 'ward-delegate' }, d.delegate)),
      h(
        'pre',
        { id: 'ward-attestation' },
        JSON.stringify(
          { patient: address, guardian: d.delegate, guardianSignature: d.delegateSignature },
          null,
          2,
        ),
      ),
    );
    announce('Your key for them is shown.');
  }

  async function grant(): Promise<void> {
    const address = parsedWard(grantOut);
    if (address === undefined || !withKey(grant)) return;
    replace(
      grantOut,
      message('info', 'Signing the grant in your browser, with your key for them, and sending it…'),
    );
    try {
      const d = await wardDelegate(address);
      const nonce = BigInt(
        (await getJson<{ nonce: string }>(`/portal/api/consent-nonce?patient=${address}`)).nonce,
      );
      const g = {
        patient: address,
        grantee: grantee.value as Hex,
        categories: encodeCategories([category.value]),
        purposes: encodePurposes([purpose.value]),
        salt: createGrantSalt(),
        notBefore: BigInt(Math.floor(Date.now() / 1000) - 60),
        notAfter: BigInt(Math.floor(Date.parse(`${until.value}T23:59:59Z`) / 1000)),
        nonce,
      };
      const typed = createGrantTypedData(await domain(), g);
      const signature = await signTypedData({ privateKey: d.key, ...typed });
      await sendJson(
        '/ledger/consent/grants?wait=true',
        { grant: Object.fromEntries(Object.entries(g).map(([k, v]) => [k, String(v)])), signature },
        { fhir: false },
      );
      const grantId = hashTypedData(typed);
      replace(
        grantOut,
        message(
          'ok',
          `Access granted to ${memberName(g.grantee, members)} for them (grant ${grantId.slice(0, 10)}…).`,
        ),
      );
      announce('Access granted.');
    } catch (error) {
      replace(grantOut, message('error', errorText(error)));
    }
  }

  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Acting for someone'),
    h(
      'p',
      {},
      'As a parent, guardian or appointed proxy, you sign for them with a key made for them alone from yours. The ledger never shows your own address, and shows a different one for each person you act for.',
    ),
    field('Their ledger address', ward),
    unlock,
    h(
      'section',
      { class: 'card' },
      h('h2', {}, 'Your key for them'),
      h('button', { type: 'button', id: 'ward-key', onclick: showKey }, 'Show my key for them'),
      keyOut,
    ),
    h(
      'form',
      {
        class: 'card',
        id: 'ward-grant-form',
        onsubmit: async (event: Event) => {
          event.preventDefault();
          await grant();
        },
      },
      h('h2', {}, 'Give access for them'),
      field('Who may see their records', grantee),
      field('Which records', category, categoryHint(category.value as DataCategory)),
      field('For what purpose', purpose),
      field('Until (inclusive)', until),
      h(
        'button',
        { type: 'submit', class: 'primary', id: 'ward-grant-submit' },
        'Sign and grant access for them',
      ),
      grantOut,
    ),
  );
}
