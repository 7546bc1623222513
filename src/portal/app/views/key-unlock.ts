/** The patient's consent key, unlocked in the browser from the keystore the node keeps (it cannot open it). */
import { errorText, getJson } from '../api.js';
import { setUnlockedKey, unlockedKey } from '../context.js';
import { announce, field, h, message, replace } from '../dom.js';
import { clearFieldErrors, showFieldErrors } from '../field-errors.js';
import { type BrowserKeystore, openKeystoreInBrowser } from '../verify/patient-keystore.js';

/**
 * A form asking the keystore passphrase; calls `onUnlocked` once the key is open in memory. Its heading
 * is an h3 inside a page's section, an h2 where it stands right under the page's h1 (no skipped level).
 */
export function keyUnlockForm(
  onUnlocked: () => void | Promise<void>,
  purpose: string,
  headingLevel: 'h2' | 'h3' = 'h3',
): HTMLElement {
  const existing = unlockedKey();
  if (existing !== undefined) {
    return h('p', { class: 'meta' }, `Your consent key (${existing.address}) is unlocked in this tab.`);
  }
  const passphrase = h('input', {
    type: 'password',
    id: 'keystore-passphrase',
    autocomplete: 'current-password',
    required: true,
  });
  const status = h('div', {});
  const form: HTMLFormElement = h(
    'form',
    {
      class: 'card',
      // The empty passphrase is said beside the field by the handler, not by the browser's bubble.
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        if (passphrase.value === '') {
          showFieldErrors(form, [{ field: 'passphrase', message: 'Type your keystore passphrase.' }], {
            passphrase,
          });
          return;
        }
        clearFieldErrors(form);
        const button = form.querySelector('button') as HTMLButtonElement;
        button.disabled = true;
        replace(status, message('info', 'Unlocking your key in this browser (this takes a few seconds)…'));
        try {
          const keystore = await getJson<BrowserKeystore>('/patient/keystore');
          const privateKey = await openKeystoreInBrowser(keystore, passphrase.value);
          setUnlockedKey({ privateKey, address: `0x${keystore.address}` });
          passphrase.value = '';
          announce('Your consent key is unlocked.');
          await onUnlocked();
        } catch (error) {
          // Beside the field, focus back on it: the pressed button was disabled meanwhile, and focus
          // would otherwise fall to the page's start.
          replace(status);
          button.disabled = false;
          showFieldErrors(
            form,
            [{ field: 'passphrase', message: `Could not unlock your key: ${errorText(error)}` }],
            {
              passphrase,
            },
          );
          passphrase.select();
        }
      },
    },
    h(headingLevel, {}, 'Unlock your consent key'),
    h(
      'p',
      { class: 'hint' },
      `${purpose} Your key is opened here, in your browser; your passphrase and key never leave it.`,
    ),
    field('Keystore passphrase', passphrase),
    h('button', { type: 'submit', class: 'primary' }, 'Unlock key'),
    status,
  );
  return form;
}
