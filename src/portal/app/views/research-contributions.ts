/**
 * What the patient's data did for research: the releases that included it (AuditEvents, purpose
 * HRESCH, entity `ResearchStudy/<id>/$export/<job>`, written by src/research/release for each
 * contributing patient), each verifiable with the access history's proof, and the patient's credits.
 */
import type { Member } from '../context.js';
import { formatDate, formatDateTime, h, message, replace } from '../dom.js';
import { verifyAuditEvent } from './access-history.js';
import { type StudyView, studyData, studyLabel, studyTitle } from './research-study.js';

/** The AuditEvent entity of a study release (src/research/release): ResearchStudy/<id>/$export/<job>. */
const RELEASE_ENTITY = /^ResearchStudy\/(?:0x)?([0-9a-fA-F]{64})\/\$export\/([^/]+)$/;

export interface Credits {
  readonly total: string;
  readonly studies: readonly { studyId: string; status: string; credits: string; creditAddress: string }[];
}

export type AuditEvent = Parameters<typeof verifyAuditEvent>[0] & {
  recorded?: string;
  entity?: { what?: { reference?: string } }[];
};

/** The releases that included the patient: AuditEvents naming `ResearchStudy/<id>/$export/<job>`. */
export function usedMyData(
  events: readonly AuditEvent[],
  studies: readonly StudyView[],
  members: readonly Member[],
): HTMLElement {
  const uses = events.flatMap((event) => {
    const entity = (event.entity ?? [])
      .map((e) => e.what?.reference ?? '')
      .find((r) => RELEASE_ENTITY.test(r));
    const match = entity === undefined ? null : RELEASE_ENTITY.exec(entity);
    return match === null ? [] : [{ event, studyId: `0x${(match[1] ?? '').toLowerCase()}` }];
  });
  return h(
    'section',
    { 'aria-labelledby': 'used-h' },
    h('h2', { id: 'used-h' }, 'Studies that used your data'),
    uses.length === 0
      ? h('p', { id: 'used-none' }, 'No study has received your data from this member.')
      : h(
          'ul',
          { class: 'cards', id: 'used-list' },
          uses.map(({ event, studyId }) => {
            const study = studies.find((s) => s.id.toLowerCase() === studyId);
            const out = h('div', {});
            const button: HTMLButtonElement = h(
              'button',
              {
                type: 'button',
                class: 'small',
                onclick: async () => {
                  button.disabled = true;
                  replace(out, h('p', { class: 'meta', role: 'status' }, 'Verifying…'));
                  const { result } = await verifyAuditEvent(event, members);
                  replace(
                    out,
                    message(
                      result.status === 'verified' ? 'ok' : result.status === 'pending' ? 'info' : 'error',
                      result.text,
                    ),
                    h(
                      'p',
                      {},
                      h(
                        'a',
                        { href: '#/access' },
                        'See it in your access history, with its proof to download',
                      ),
                    ),
                  );
                  button.disabled = false;
                  button.focus();
                },
              },
              'Verify the proof',
            );
            return h(
              'li',
              { class: 'card', 'data-study-id': studyId },
              h('h3', {}, study === undefined ? studyLabel(studyId) : studyTitle(study, members)),
              h(
                'p',
                {},
                `${formatDateTime(event.recorded)}: a de-identified copy of your ${study === undefined ? 'records' : studyData(study)} went into a release for this study.`,
              ),
              h('div', { class: 'row' }, button),
              out,
            );
          }),
        ),
  );
}

export function creditsSection(
  credits: Credits | undefined,
  studies: readonly StudyView[],
  members: readonly Member[],
): HTMLElement {
  const rows = (credits?.studies ?? []).filter((s) => s.credits !== '0' || s.status === 'open');
  return h(
    'section',
    { 'aria-labelledby': 'credits-h' },
    h('h2', { id: 'credits-h' }, 'Your contribution credits'),
    h(
      'p',
      {},
      'Each release that includes your data gives you credits on the ledger. They cannot be transferred or sold. They are held at an address made for each study, which nobody can link to you on the ledger.',
    ),
    credits === undefined
      ? message('error', 'Your credits could not be loaded.')
      : h(
          'p',
          { id: 'credits-total', class: 'big' },
          `${credits.total} credit${credits.total === '1' ? '' : 's'} in all`,
        ),
    rows.length === 0
      ? null
      : h(
          'ul',
          { id: 'credits-list' },
          rows.map((r) => {
            const study = studies.find((s) => s.id.toLowerCase() === r.studyId.toLowerCase());
            return h(
              'li',
              {},
              `${study === undefined ? studyLabel(r.studyId) : studyTitle(study, members)}: ${r.credits} credit${r.credits === '1' ? '' : 's'}`,
              study === undefined
                ? ''
                : ` (study ${study.status}, until ${formatDate(study.period.notAfter)})`,
            );
          }),
        ),
  );
}
