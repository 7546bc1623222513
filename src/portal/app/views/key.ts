/**
 * The patient's consent key: unlock it, change the keystore passphrase (re-encrypted in the browser,
 * PUT /patient/keystore), and set up guardians: the key split into Shamir shares in the browser, one
 * file per guardian, recoverable with `careledger patient key recover` when the passphrase is lost.
 */
import { errorText, request } from '../api.js';
import { unlockedKey } from '../context.js';
import { announce, download, field, h, message, replace } from '../dom.js';
import { toHex } from '../verify/bytes.js';
import {
  formatShareFileInBrowser,
  formatShareInBrowser,
  splitSecretInBrowser,
} from '../verify/guardian-shares.js';
import { createKeystoreInBrowser } from '../verify/patient-keystore.js';
import { keyEnrolmentCard } from './key-enrolment.js';
import { keyUnlockForm } from './key-unlock.js';

export async function renderKey(main: HTMLElement): Promise<void> {
  const key = unlockedKey();
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Key and guardians'),
    h(
      'p',
      {},
      'Your consent key signs every grant and revocation. This node keeps it only encrypted with your passphrase, which it never sees.',
    ),
    key === undefined
      ? keyUnlockForm(
          () => renderKey(main),
          'To change your passphrase or set up guardians, unlock your key first.',
          'h2',
        )
      : unlockedViews(key),
  );
}

function unlockedViews(key: { privateKey: Uint8Array; address: string }): HTMLElement[] {
  return [
    h('p', {}, 'Your ledger address: ', h('code', {}, key.address)),
    keyEnrolmentCard(key),
    passphraseForm(key),
    guardianForm(key),
  ];
}

function passphraseForm(key: { privateKey: Uint8Array }): HTMLElement {
  const first = h('input', { type: 'password', autocomplete: 'new-password', minlength: 8, required: true });
  const second = h('input', { type: 'password', autocomplete: 'new-password', minlength: 8, required: true });
  const out = h('div', {});
  const form = h(
    'form',
    {
      class: 'card',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        if (first.value !== second.value)
          return replace(out, message('error', 'The two passphrases differ.'));
        if ([...first.value].length < 8) return replace(out, message('error', 'Use at least 8 characters.'));
        replace(out, message('info', 'Encrypting your key under the new passphrase in this browser…'));
        try {
          const keystore = await createKeystoreInBrowser(key.privateKey, first.value);
          await request('/patient/keystore', { method: 'PUT', body: keystore, fhir: false });
          first.value = '';
          second.value = '';
          replace(
            out,
            message(
              'ok',
              'Passphrase changed. Use the new one from now on; your guardians’ shares stay valid.',
            ),
          );
        } catch (error) {
          replace(out, message('error', errorText(error)));
        }
      },
    },
    h('h2', {}, 'Change your keystore passphrase'),
    field('New passphrase', first, 'At least 8 characters; a few unrelated words work well.'),
    field('New passphrase again', second),
    h('button', { type: 'submit' }, 'Change passphrase'),
    out,
  );
  return form;
}

function guardianForm(key: { privateKey: Uint8Array }): HTMLElement {
  const guardians = h('input', {
    type: 'number',
    min: 2,
    max: 10,
    value: 3,
    required: true,
    id: 'guardian-count',
  });
  const threshold = h('input', {
    type: 'number',
    min: 2,
    max: 10,
    value: 2,
    required: true,
    id: 'guardian-threshold',
  });
  const out = h('div', { id: 'guardian-out' });
  return h(
    'form',
    {
      class: 'card',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const n = Number(guardians.value);
        const k = Number(threshold.value);
        if (!(k >= 2 && k <= n && n <= 10))
          return replace(
            out,
            message('error', 'Choose 2 to 10 guardians, and how many of them (2 or more) are needed.'),
          );
        const id = toHex(crypto.getRandomValues(new Uint8Array(8)));
        const shares = (await splitSecretInBrowser(key.privateKey, n, k)).map((s, i) => {
          const text = formatShareFileInBrowser(formatShareInBrowser(s, { id, threshold: k }), i + 1, n, k);
          s.y.fill(0);
          return text;
        });
        replace(
          out,
          message(
            'ok',
            `${n} shares made in your browser. Give one file to each guardian; any ${k} of them recover your key with “careledger patient key recover”. This page does not keep them.`,
          ),
          h(
            'ul',
            {},
            shares.map((text, i) =>
              h(
                'li',
                {},
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'small',
                    onclick: () => download(`guardian-${i + 1}.share`, text, 'text/plain'),
                  },
                  `Download share for guardian ${i + 1}`,
                ),
              ),
            ),
          ),
        );
        announce(`${n} guardian shares are ready to download.`);
      },
    },
    h('h2', {}, 'Guardians for key recovery'),
    h(
      'p',
      { class: 'hint' },
      'If you lose your passphrase, people you trust can together restore your key. No single guardian can.',
    ),
    field('Number of guardians', guardians),
    field('Guardians needed to recover', threshold),
    h('button', { type: 'submit' }, 'Make guardian shares'),
    out,
  );
}
