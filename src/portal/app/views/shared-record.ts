/**
 * The page a telehealth share's link opens (`#/shared/<id>/<link secret>`, issue 22, decision 0030): the
 * outside clinician has no account. They type the one-time code the patient gave them, then read the
 * shared records and the patient summary (IPS), whose signature this page checks against the signer the
 * member publishes at `/.well-known/careledger-document-signer` on this same HTTPS origin.
 */
import type { Bundle } from '@medplum/fhirtypes';
import { verifyDocumentSignature } from '../../../fhir/ips/sign-document.js';
import { ApiError, errorText, publicJson } from '../api.js';
import { announce, download, field, formatDateTime, h, message, replace } from '../dom.js';
import type { Resource } from '../fhir-display.js';
import { recordList } from '../record-list.js';
import { mergeRecords } from '../record-rows.js';
import { parseShareRoute } from '../share-words.js';
import { categoryNames, listWords } from '../words.js';

/** What the code opened, kept for this tab only (sessionStorage): a reload does not need the code again. */
interface Viewing {
  readonly session: string;
  readonly organization: string;
  readonly categories: readonly string[];
  readonly purposeText: string;
  readonly expiresAt: string;
}

const storageKey = (id: string) => `careledger.share.${id}`;

function loadViewing(id: string): Viewing | undefined {
  try {
    const text = sessionStorage.getItem(storageKey(id));
    return text === null ? undefined : (JSON.parse(text) as Viewing);
  } catch {
    return undefined;
  }
}

const ENDED =
  'This share has ended: the patient revoked it, its time ran out, or the link is not complete. Ask the patient for a new share.';

export async function renderShared(main: HTMLElement, param: string): Promise<void> {
  const route = parseShareRoute(param);
  if (route === undefined) {
    replace(main, h('h1', { tabindex: '-1' }, 'Shared record'), message('error', ENDED));
    return;
  }
  const viewing = loadViewing(route.id);
  if (viewing === undefined) codeForm(main, route);
  else await sharedView(main, route, viewing);
}

function codeForm(main: HTMLElement, route: { id: string; link: string }, notice?: string): void {
  const code = h('input', {
    type: 'text',
    id: 'share-code-input',
    autocomplete: 'one-time-code',
    autocapitalize: 'characters',
    spellcheck: 'false',
    maxlength: 20,
  });
  const out = h('div', { id: 'share-open-result', 'aria-live': 'polite' });
  const form: HTMLFormElement = h(
    'form',
    {
      class: 'card',
      id: 'share-open-form',
      novalidate: true,
      onsubmit: async (event: Event) => {
        event.preventDefault();
        if (code.value.trim() === '') {
          replace(out, message('error', 'Type the code the patient gave you.'));
          code.focus();
          return;
        }
        const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
        button.disabled = true;
        try {
          const opened = await publicJson<Viewing>(`/shared/${encodeURIComponent(route.id)}/open`, {
            body: { link: route.link, code: code.value.trim() },
          });
          sessionStorage.setItem(storageKey(route.id), JSON.stringify(opened));
          await sharedView(main, route, opened);
          main.querySelector<HTMLElement>('h1')?.focus();
        } catch (error) {
          const words =
            error instanceof ApiError && error.status === 410
              ? ENDED
              : error instanceof ApiError && error.status === 429
                ? 'Too many wrong codes: wait a while before trying again.'
                : `Not opened: ${errorText(error)}`;
          replace(out, message('error', words));
          code.setAttribute('aria-invalid', 'true');
          code.focus();
          code.select();
          button.disabled = false;
        }
      },
    },
    field('Code from the patient', code, 'Ten letters and digits; it works once.'),
    h('button', { type: 'submit', class: 'primary' }, 'Open the shared record'),
    out,
  );
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'A patient shared their record with you'),
    notice === undefined ? null : message('error', notice),
    h(
      'p',
      {},
      'A patient of a CareLedger member gave you this link for a limited time. Type the one-time code they gave you separately. Every read is recorded and shown to the patient.',
    ),
    form,
  );
}

async function sharedView(
  main: HTMLElement,
  route: { id: string; link: string },
  viewing: Viewing,
): Promise<void> {
  const headers = { 'x-share-link': route.link, 'x-share-session': viewing.session };
  const base = `/shared/${encodeURIComponent(route.id)}`;
  const ended = (error: unknown): boolean => {
    if (!(error instanceof ApiError) || (error.status !== 410 && error.status !== 401)) return false;
    sessionStorage.removeItem(storageKey(route.id));
    if (error.status === 410)
      replace(main, h('h1', { tabindex: '-1' }, 'Shared record'), message('error', ENDED));
    else codeForm(main, route, 'The viewing has ended: type the code again.');
    return true;
  };
  let records: Resource[];
  try {
    const bundle = await publicJson<{ entry?: { resource: Resource }[] }>(`${base}/records`, { headers });
    records = (bundle.entry ?? []).map((e) => e.resource);
  } catch (error) {
    if (ended(error)) return;
    throw error;
  }
  const summaryOut = h('div', { id: 'share-summary-result', 'aria-live': 'polite' });
  const summaryButton: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      id: 'share-summary',
      onclick: async () => {
        summaryButton.disabled = true;
        replace(summaryOut, h('p', { class: 'meta', role: 'status' }, 'Fetching and checking the summary…'));
        try {
          const [summary, signer] = await Promise.all([
            publicJson<Bundle>(`${base}/summary`, { headers }),
            publicJson<{ organization: string; address: string }>('/.well-known/careledger-document-signer'),
          ]);
          replace(summaryOut, await summaryView(summary, signer));
          announce('Summary fetched.');
        } catch (error) {
          if (ended(error)) return;
          replace(summaryOut, message('error', `No summary: ${errorText(error)}`));
        } finally {
          summaryButton.disabled = false;
        }
      },
    },
    'Get the signed patient summary',
  );
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Shared record'),
    h(
      'p',
      {},
      `Shared by a patient of ${viewing.organization}: ${listWords(categoryNames(viewing.categories)).toLowerCase()}. `,
      `Reason given: ${viewing.purposeText}. Readable until ${formatDateTime(viewing.expiresAt)} unless the patient revokes it.`,
    ),
    h(
      'section',
      { 'aria-labelledby': 'share-summary-h' },
      h('h2', { id: 'share-summary-h' }, 'Patient summary (IPS)'),
      h(
        'p',
        { class: 'hint' },
        `Signed by ${viewing.organization} with its ledger key; this page checks the signature against the signer published on this site.`,
      ),
      summaryButton,
      summaryOut,
    ),
    h('h2', {}, 'Records'),
    records.length === 0
      ? message('info', 'No records of the shared kinds.')
      : recordList(mergeRecords(records.map((resource) => ({ resource, servedBy: viewing.organization }))), {
          caption: 'Shared records',
          search: 'Search the shared records',
        }).element,
  );
}

async function summaryView(
  summary: Bundle,
  signer: { organization: string; address: string },
): Promise<HTMLElement> {
  let checked: HTMLElement;
  try {
    const verified = await verifyDocumentSignature(summary, { expectedSigner: signer.address });
    checked = message(
      'ok',
      h('strong', {}, 'Signature valid. '),
      `Signed by ${signer.organization} (${verified.signer}), the document signer this site publishes at /.well-known/careledger-document-signer; the summary was not changed after signing.`,
    );
  } catch (error) {
    checked = message(
      'error',
      h('strong', {}, 'Signature NOT valid: '),
      errorText(error),
      '. Do not rely on this summary.',
    );
  }
  const sections = (summary.entry ?? [])
    .map((e) => e.resource)
    .find((r) => r?.resourceType === 'Composition') as
    | { section?: { title?: string; text?: { div?: string }; entry?: unknown[] }[] }
    | undefined;
  return h(
    'div',
    { id: 'share-summary-view' },
    checked,
    h(
      'ul',
      { class: 'summary-sections' },
      (sections?.section ?? []).map((s) =>
        h(
          'li',
          {},
          `${s.title ?? 'Section'}: ${s.entry?.length ?? 0} entr${s.entry?.length === 1 ? 'y' : 'ies'}`,
        ),
      ),
    ),
    h(
      'button',
      {
        type: 'button',
        onclick: () =>
          download('patient-summary.json', JSON.stringify(summary, null, 2), 'application/fhir+json'),
      },
      'Download the signed summary (FHIR JSON)',
    ),
  );
}
