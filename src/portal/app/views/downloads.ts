/** Downloads: the patient's records as a FHIR Bundle, the International Patient Summary, log proofs. */
import { ApiError, errorText, request } from '../api.js';
import { download, h, message, replace } from '../dom.js';
import { patientId, session } from '../session.js';

export async function renderDownloads(main: HTMLElement): Promise<void> {
  const id = patientId(session());
  const out = h('div', { id: 'download-status' });
  const get = async (path: string, name: string, what: string) => {
    replace(out, message('info', `Preparing ${what}…`));
    try {
      const text = await (await request(path)).text();
      download(name, text, 'application/fhir+json');
      replace(out, message('ok', `${what} downloaded (${name}).`));
    } catch (error) {
      if (error instanceof ApiError && error.status === 404 && path.includes('$summary')) {
        replace(
          out,
          message(
            'error',
            'This node cannot produce an International Patient Summary yet ($summary is not available). The full FHIR Bundle contains everything.',
          ),
        );
      } else replace(out, message('error', errorText(error)));
    }
  };
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Downloads'),
    h(
      'ul',
      { class: 'cards' },
      h(
        'li',
        { class: 'card' },
        h('h2', {}, 'All my records (FHIR R4 Bundle)'),
        h(
          'p',
          {},
          'Every record this member holds about you, in the standard FHIR format any health app can read.',
        ),
        h(
          'button',
          {
            type: 'button',
            onclick: () =>
              void get(
                `/fhir/Patient/${encodeURIComponent(id)}/$everything`,
                'my-records.fhir.json',
                'Your records',
              ),
          },
          'Download FHIR Bundle',
        ),
      ),
      h(
        'li',
        { class: 'card' },
        h('h2', {}, 'International Patient Summary'),
        h(
          'p',
          {},
          'A short summary (allergies, medications, problems, immunizations) to carry across borders.',
        ),
        h(
          'button',
          {
            type: 'button',
            onclick: () =>
              void get(
                `/fhir/Patient/${encodeURIComponent(id)}/$summary`,
                'patient-summary.ips.json',
                'Your patient summary',
              ),
          },
          'Download IPS',
        ),
      ),
      h(
        'li',
        { class: 'card' },
        h('h2', {}, 'Proofs of access'),
        h(
          'p',
          {},
          'Each entry of your ',
          h('a', { href: '#/access' }, 'access history'),
          ' has a “Verify” button and, once verified, a .tlog-proof file you can check offline with “careledger proof verify”.',
        ),
      ),
    ),
    out,
  );
}
