/**
 * Linking the patient's key to their record at this node (issue 14 item 12): the node names a
 * challenge (this node, this Patient, this key, a nonce, 10 minutes), the key signs it here in the
 * browser (EIP-712), and the node links the key only if the signature is that key's. Replacing a key
 * already linked is the privacy officer's, with a proof by the new key: this card says so.
 */
import { signTypedData } from 'viem/accounts';
import {
  createLedgerKeyProofTypedData,
  type LedgerKeyChallenge,
} from '../../../identity/ledger-key-proof.js';
import { errorText, getJson, sendJson } from '../api.js';
import { h, message, replace } from '../dom.js';
import type { Resource } from '../fhir-display.js';
import { patientId, session } from '../session.js';
import { toHex } from '../verify/bytes.js';
import { LEDGER_ADDRESS_SYSTEM } from './consent.js';

export function keyEnrolmentCard(key: { privateKey: Uint8Array; address: string }): HTMLElement {
  const out = h('div', { id: 'key-enrolment-out' });
  const card = h('section', { class: 'card' }, h('h2', {}, 'Your key and your record here'), out);
  void showLink(out, key);
  return card;
}

async function showLink(out: HTMLElement, key: { privateKey: Uint8Array; address: string }): Promise<void> {
  const id = patientId(session());
  try {
    const patient = await getJson<Resource & { identifier?: { system?: string; value?: string }[] }>(
      `/fhir/Patient/${encodeURIComponent(id)}`,
    );
    const linked = patient.identifier?.find((i) => i.system === LEDGER_ADDRESS_SYSTEM)?.value;
    if (linked?.toLowerCase() === key.address.toLowerCase()) {
      return replace(
        out,
        message('ok', 'Your key is linked to your record at this node: grants you sign apply to it.'),
      );
    }
    if (linked !== undefined) {
      return replace(
        out,
        message(
          'error',
          `Your record here is linked to another key (${linked}). Only the privacy officer can change that, with a signature by your new key: ask at the desk.`,
        ),
      );
    }
    replace(
      out,
      h(
        'p',
        { class: 'hint' },
        'Your record at this node has no key linked yet. Link this key so the grants it signs apply here.',
      ),
      h('button', { type: 'button', onclick: () => enrol(out, id, key) }, 'Link my key to my record here'),
    );
  } catch (error) {
    replace(out, message('error', errorText(error)));
  }
}

async function enrol(
  out: HTMLElement,
  id: string,
  key: { privateKey: Uint8Array; address: string },
): Promise<void> {
  replace(out, message('info', 'Signing the node’s challenge with your key in this browser…'));
  try {
    const base = `/fhir/Patient/${encodeURIComponent(id)}`;
    const { challenge } = await sendJson<{ challenge: LedgerKeyChallenge }>(
      `${base}/$ledger-key-challenge`,
      { key: key.address },
      { fhir: false },
    );
    // Sign only a challenge for this record and this key.
    if (challenge.patient !== `Patient/${id}` || challenge.key.toLowerCase() !== key.address.toLowerCase()) {
      return replace(
        out,
        message('error', 'The node asked to sign for another record or key; nothing was signed.'),
      );
    }
    const signature = await signTypedData({
      privateKey: `0x${toHex(key.privateKey)}`,
      ...createLedgerKeyProofTypedData(challenge),
    });
    await sendJson(`${base}/$enrol-ledger-key`, { nonce: challenge.nonce, signature }, { fhir: false });
    await showLink(out, key);
  } catch (error) {
    replace(out, message('error', errorText(error)));
  }
}
