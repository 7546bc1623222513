/**
 * The manufacturer's page (issue 19 item 8): commission packs (an EPCIS commissioning event captured at
 * this node, each pack put on the ledger), recall a lot or one serial, and see how far a lot's recall
 * reached: how many patients each member told, never who.
 */
import { errorText, getJson, sendJson } from '../api.js';
import { consortiumMembers, memberName } from '../context.js';
import { field, h, message, replace } from '../dom.js';

const EPCIS_CONTEXT = 'https://ref.gs1.org/standards/epcis/epcis-context.jsonld';

interface Reach {
  lot: string;
  patients: number;
  members: { member: string; patients: number }[];
}

const text = (name: string, extra: Record<string, string | boolean> = {}) =>
  h('input', { type: 'text', name, autocomplete: 'off', spellcheck: 'false', ...extra }) as HTMLInputElement;

/** The serials typed in one box: separated by commas, spaces or new lines. */
export function serialsOf(typed: string): string[] {
  return [...new Set(typed.split(/[\s,;]+/).filter((s) => s !== ''))];
}

/** A GTIN as an SGTIN Digital Link for EPCIS: 14 digits (shorter GTINs padded with zeros). */
function sgtin(gtin: string, serial: string): string {
  return `https://id.gs1.org/01/${gtin.padStart(14, '0')}/21/${encodeURIComponent(serial)}`;
}

function commissionForm(): HTMLElement {
  const gtin = text('gtin', { inputmode: 'numeric', required: true });
  const serials = h('textarea', { name: 'serials', rows: 3, required: true }) as HTMLTextAreaElement;
  const lot = text('lot', { required: true });
  const expiry = h('input', { type: 'date', name: 'expiry' }) as HTMLInputElement;
  const out = h('div', { id: 'commission-result' });
  return h(
    'form',
    {
      class: 'card',
      id: 'commission-form',
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const list = serialsOf(serials.value);
        if (gtin.value.trim() === '' || list.length === 0 || lot.value.trim() === '') {
          replace(out, message('error', 'Give the product code, at least one serial number and the batch.'));
          return;
        }
        replace(out, message('info', `Commissioning ${list.length} pack(s) on the ledger…`));
        const now = new Date().toISOString();
        try {
          const result = await sendJson<{ events: { eventHash: string; ledger: string[] }[] }>(
            '/epcis/capture',
            {
              '@context': [EPCIS_CONTEXT],
              type: 'EPCISDocument',
              schemaVersion: '2.0',
              creationDate: now,
              epcisBody: {
                eventList: [
                  {
                    type: 'ObjectEvent',
                    eventTime: now,
                    eventTimeZoneOffset: '+00:00',
                    epcList: list.map((serial) => sgtin(gtin.value.trim(), serial)),
                    action: 'ADD',
                    bizStep: 'commissioning',
                    disposition: 'active',
                    ilmd: {
                      'cbvmda:lotNumber': lot.value.trim(),
                      ...(expiry.value === '' ? {} : { 'cbvmda:itemExpirationDate': expiry.value }),
                    },
                  },
                ],
              },
            },
          );
          const written = result.events[0]?.ledger.length ?? 0;
          replace(
            out,
            message('ok', `Commissioned: ${written} pack(s) are on the ledger, batch ${lot.value.trim()}.`),
          );
        } catch (error) {
          replace(out, message('error', `Not commissioned: ${errorText(error)}`));
        }
      },
    },
    h('h2', {}, 'Commission packs'),
    field('Product code (GTIN)', gtin),
    field('Serial numbers', serials, 'One or more, separated by commas or new lines.'),
    field('Batch (lot)', lot),
    field('Expiry date', expiry, 'Leave empty for a device that has none.'),
    h('button', { type: 'submit', class: 'primary' }, 'Commission'),
    out,
  );
}

function recallForm(): HTMLElement {
  const gtin = text('gtin', { inputmode: 'numeric', required: true });
  const lot = text('lot');
  const serial = text('serial');
  const out = h('div', { id: 'recall-result' });
  return h(
    'form',
    {
      class: 'card',
      id: 'recall-form',
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        const hasLot = lot.value.trim() !== '';
        const hasSerial = serial.value.trim() !== '';
        if (gtin.value.trim() === '' || hasLot === hasSerial) {
          replace(
            out,
            message('error', 'Give the product code and either a batch or one serial number, not both.'),
          );
          return;
        }
        const target = hasLot ? `batch ${lot.value.trim()}` : `serial number ${serial.value.trim()}`;
        if (!window.confirm(`Recall ${target}? Every member that handed it out will tell its patients.`))
          return;
        replace(out, message('info', 'Recalling on the ledger…'));
        try {
          await sendJson('/supply/recalls', {
            gtin: gtin.value.trim(),
            ...(hasLot ? { lot: lot.value.trim() } : { serial: serial.value.trim() }),
          });
          replace(out, message('ok', `Recalled ${target}. Members are reaching their patients now.`));
        } catch (error) {
          replace(out, message('error', `Not recalled: ${errorText(error)}`));
        }
      },
    },
    h('h2', {}, 'Recall'),
    field('Product code (GTIN)', gtin),
    field('Batch (lot)', lot, 'To recall a whole batch.'),
    field('Serial number', serial, 'Or to recall one pack.'),
    h('button', { type: 'submit', class: 'danger' }, 'Recall'),
    out,
  );
}

function reachForm(): HTMLElement {
  const gtin = text('gtin', { inputmode: 'numeric', required: true });
  const lot = text('lot', { required: true });
  const out = h('div', { id: 'reach-result' });
  return h(
    'form',
    {
      class: 'card',
      id: 'reach-form',
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        try {
          const query = new URLSearchParams({ gtin: gtin.value.trim(), lot: lot.value.trim() });
          const [reach, members] = await Promise.all([
            getJson<Reach>(`/supply/recalls/reach?${query}`),
            consortiumMembers().catch(() => []),
          ]);
          replace(
            out,
            reach.members.length === 0
              ? message('info', 'No member has reported reaching a patient for this batch yet.')
              : h(
                  'table',
                  { id: 'reach-table' },
                  h('caption', {}, `${reach.patients} patient(s) reached in all`),
                  h(
                    'thead',
                    {},
                    h(
                      'tr',
                      {},
                      h('th', { scope: 'col' }, 'Member'),
                      h('th', { scope: 'col' }, 'Patients reached'),
                    ),
                  ),
                  h(
                    'tbody',
                    {},
                    reach.members.map((m) =>
                      h(
                        'tr',
                        {},
                        h('td', {}, memberName(m.member, members)),
                        h('td', {}, String(m.patients)),
                      ),
                    ),
                  ),
                ),
          );
        } catch (error) {
          replace(out, message('error', errorText(error)));
        }
      },
    },
    h('h2', {}, 'Reach of a recall'),
    h('p', { class: 'hint' }, 'How many patients each member told of the recall: a count, never who.'),
    field('Product code (GTIN)', gtin),
    field('Batch (lot)', lot),
    h('button', { type: 'submit' }, 'Show reach'),
    out,
  );
}

export async function renderSupplyManufacturer(main: HTMLElement): Promise<void> {
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Packs and recalls'),
    commissionForm(),
    recallForm(),
    reachForm(),
  );
}
