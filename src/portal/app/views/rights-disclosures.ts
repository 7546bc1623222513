/**
 * The patient's rights, part 1 (issue 22): the accounting of disclosures (45 CFR 164.528) read from
 * /patient-rights/disclosures, shown as cards and offered as a printable page and as FHIR; and the
 * human-readable printable copy of the record beside the FHIR Bundle and the IPS (Downloads).
 */
import { errorText, getJson, request } from '../api.js';
import { download, formatDateTime, h, message } from '../dom.js';

interface ListEntry {
  date?: string;
  item?: { display?: string };
}
interface DisclosureBundle {
  entry?: { resource?: { resourceType: string; entry?: ListEntry[] } }[];
}

async function downloadText(path: string, name: string, type: string, status: HTMLElement): Promise<void> {
  try {
    const text = await (await request(path)).text();
    download(name, text, type);
    status.replaceChildren(message('ok', `Saved ${name}. Open it in your browser to read or print it.`));
  } catch (error) {
    status.replaceChildren(message('error', errorText(error)));
  }
}

export async function renderDisclosures(): Promise<HTMLElement> {
  const status = h('div', { 'aria-live': 'polite' });
  const section = h(
    'section',
    { 'aria-labelledby': 'disclosures-title', id: 'disclosures' },
    h('h2', { id: 'disclosures-title' }, 'Who your records were disclosed to'),
    h(
      'p',
      {},
      'Every disclosure of your health information in the last six years other than for your treatment, payment and our operations, and every copy another member fetched.',
    ),
  );
  try {
    const bundle = await getJson<DisclosureBundle>('/patient-rights/disclosures');
    const rows = bundle.entry?.[0]?.resource?.entry ?? [];
    section.append(
      rows.length === 0
        ? message('info', 'No disclosures in the last six years.')
        : h(
            'ul',
            { class: 'cards', 'data-testid': 'disclosure-list' },
            rows.map((r) =>
              h(
                'li',
                { class: 'card' },
                h('strong', {}, formatDateTime(r.date)),
                h('p', {}, r.item?.display ?? ''),
              ),
            ),
          ),
    );
  } catch (error) {
    section.append(message('error', errorText(error)));
  }
  section.append(
    h(
      'p',
      { class: 'actions' },
      h(
        'button',
        {
          type: 'button',
          onclick: () =>
            void downloadText(
              '/patient-rights/disclosures?format=html',
              'accounting-of-disclosures.html',
              'text/html',
              status,
            ),
        },
        'Save the printable report',
      ),
      ' ',
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: () =>
            void downloadText(
              '/patient-rights/disclosures',
              'accounting-of-disclosures.fhir.json',
              'application/fhir+json',
              status,
            ),
        },
        'Save as FHIR',
      ),
    ),
    status,
  );
  return section;
}

export function renderPrintableCopy(): HTMLElement {
  const status = h('div', { 'aria-live': 'polite' });
  return h(
    'section',
    { 'aria-labelledby': 'copy-title' },
    h('h2', { id: 'copy-title' }, 'A copy of your record to read or print'),
    h(
      'p',
      {},
      'Your records here in plain words, by section, with dates. Open the saved page in your browser and print it, or print to PDF. The FHIR Bundle and the signed summary (IPS) are under Downloads.',
    ),
    h(
      'button',
      {
        type: 'button',
        onclick: () =>
          void downloadText('/patient-rights/record', 'my-health-record.html', 'text/html', status),
      },
      'Save a printable copy',
    ),
    status,
  );
}
