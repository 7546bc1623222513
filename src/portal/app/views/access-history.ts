/**
 * Who accessed the patient's records, from this node's AuditEvents, each checkable in the browser:
 * the salted commitment (recomputed from the AuditEvent), the C2SP tlog-proof's inclusion proof, the
 * log's Ed25519 signature with the key the ledger publishes, and the witnesses' cosignatures.
 */

import { accessWords } from '../access-words.js';
import { ApiError, errorText, request, searchAll } from '../api.js';
import { consortiumMembers, type Member } from '../context.js';
import { download, formatDateTime, h, message, replace } from '../dom.js';
import type { Resource } from '../fhir-display.js';
import { loadDirectory, withPractitionerNames } from '../people.js';
import { patientId, session } from '../session.js';
import { createAuditEntry, readLogEntry } from '../verify/audit-commitment.js';
import { ProofVerificationError, verifyTlogProof, witnessVerifierOf } from '../verify/verify-tlog-proof.js';
import { type PersonDirectory, personName, purposeWords, TELEHEALTH_SHARE_AGENT } from '../words.js';
import { collectEverywhere } from './records.js';

interface AuditEvent extends Resource {
  recorded?: string;
  action?: string;
  outcome?: string;
  outcomeDesc?: string;
  subtype?: { code?: string; display?: string }[];
  purposeOfEvent?: { coding?: { code?: string; display?: string }[]; text?: string }[];
  agent?: {
    who?: { reference?: string; display?: string };
    requestor?: boolean;
    purposeOfUse?: { coding?: { code?: string }[] }[];
  }[];
  entity?: { what?: { reference?: string }; role?: { code?: string } }[];
  source?: { site?: string; observer?: { display?: string } };
  type?: { code?: string; display?: string };
  extension?: { url?: string }[];
}

export type VerificationResult =
  | { status: 'verified'; text: string }
  | { status: 'failed'; text: string }
  | { status: 'pending'; text: string };

const BREAK_GLASS = '110127';

/** An entry's words, from the directory of names (words.ts): who, did what, why, with what outcome. */
export function describe(
  e: AuditEvent,
  directory: PersonDirectory,
): {
  who: string;
  what: string;
  why: string;
  outcome: string;
  breakGlass: boolean;
  self: boolean;
} {
  const requestor = e.agent?.find((a) => a.requestor) ?? e.agent?.[0];
  const reference = requestor?.who?.reference;
  // A member asking for one of its practitioners names them as a second agent (IHE BALP).
  const onBehalfOf = e.agent?.find((a) => a !== requestor && a.requestor === false)?.who?.reference;
  const who = personName(onBehalfOf ?? reference, directory);
  const entity =
    e.entity?.find((x) => x.role?.code !== '1')?.what?.reference ?? e.entity?.[0]?.what?.reference ?? '';
  const searched = e.subtype?.some((c) => c.code === 'search-type') === true;
  const words = accessWords(entity.replace(/\/_history\/\d+$/, ''), e.action, searched);
  // A telehealth share serves only the categories the patient chose (decision 0030), never "all".
  const what =
    (onBehalfOf ?? reference)?.startsWith(TELEHEALTH_SHARE_AGENT) === true &&
    words === 'opened all your records'
      ? 'opened the records you shared'
      : words;
  const purposes = (e.purposeOfEvent ?? []).flatMap((p) => p.coding?.map((c) => c.code ?? '') ?? []);
  // The patient's own views need no "for your own request".
  const why =
    who === 'You'
      ? ''
      : [purposeWords(purposes), e.purposeOfEvent?.find((p) => p.text)?.text].filter(Boolean).join(' — ');
  // AuditEvent.outcome: 0 success, 4 minor failure (a refusal here), 8 and 12 failures of the server.
  const outcome =
    e.outcome === '0' || e.outcome === undefined
      ? 'allowed'
      : `${e.outcome === '4' ? 'refused' : 'failed'}${e.outcomeDesc ? `: ${e.outcomeDesc}` : ''}`;
  const breakGlass =
    JSON.stringify(e.type ?? '').includes(BREAK_GLASS) ||
    JSON.stringify(e.subtype ?? '').includes(BREAK_GLASS) ||
    JSON.stringify(e.agent ?? '').includes(BREAK_GLASS) ||
    JSON.stringify(e.extension ?? '').includes('break-glass') ||
    JSON.stringify(e.purposeOfEvent ?? '').includes('ETREAT');
  return { who, what, why, outcome, breakGlass, self: who === 'You' };
}

/** Fetches the entry's tlog-proof and verifies everything in this browser; never throws. */
export async function verifyAuditEvent(
  event: AuditEvent,
  members: readonly Member[],
): Promise<{ result: VerificationResult; proof?: string }> {
  const reference = readLogEntry(event);
  if (reference === undefined)
    return { result: { status: 'failed', text: 'This record carries no log entry to check.' } };
  let proof: string | undefined;
  // A new entry is in the log at once but in a signed checkpoint only after the next one (about a second).
  for (let attempt = 0; proof === undefined; attempt++) {
    try {
      proof = await (
        await request(`/log/proof/${reference.index}`, { headers: { accept: 'text/plain' } })
      ).text();
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 404) {
        return { result: { status: 'failed', text: `The proof could not be fetched: ${errorText(error)}` } };
      }
      if (attempt >= 8) {
        return {
          result: {
            status: 'pending',
            text: 'Not yet in a signed checkpoint: the log signs one about every second; try again shortly.',
          },
        };
      }
      await new Promise((resolve) => setTimeout(resolve, 750));
    }
  }
  return verifyWithProof(event, proof, members);
}

/** Verifies a served AuditEvent against a tlog-proof's text, in this browser; never throws. */
export function verifyWithProof(
  event: AuditEvent,
  proof: string,
  members: readonly Member[],
): { result: VerificationResult; proof?: string } {
  const reference = readLogEntry(event);
  if (reference === undefined)
    return { result: { status: 'failed', text: 'This record carries no log entry to check.' } };
  try {
    const origin = event.source?.site ?? '';
    const owner = members.find((m) => m.logOrigin === origin);
    if (owner === undefined)
      throw new ProofVerificationError(
        'log-signature',
        'unknown-log',
        `no member of the consortium publishes the log ${origin}`,
      );
    const witnesses = members
      .filter((m) => m.status === 'active' && m.address !== owner.address)
      .map((m) => witnessVerifierOf(m.logVerifierKey, m.logOrigin));
    const verified = verifyTlogProof(proof, {
      logVerifierKey: owner.logVerifierKey,
      witnesses,
      // The same k of n as `careledger proof policy`: a majority of the other members, at least one.
      witnessThreshold: Math.min(witnesses.length, Math.max(1, Math.ceil(witnesses.length / 2))),
      entry: createAuditEntry(event),
      index: reference.index,
    });
    return {
      proof,
      result: {
        status: 'verified',
        text: `Verified in your browser: entry ${verified.index} is in ${verified.checkpoint.origin} at tree size ${verified.checkpoint.size}, signed by ${owner.name} with the key on the ledger and cosigned by ${verified.witnesses.length} witness${verified.witnesses.length === 1 ? '' : 'es'}.`,
      },
    };
  } catch (error) {
    if (error instanceof ProofVerificationError) {
      return {
        proof,
        result: {
          status: 'failed',
          text: `Verification failed at the ${error.step} step (${error.reason}): ${error.message}.`,
        },
      };
    }
    return { proof, result: { status: 'failed', text: `Verification failed: ${(error as Error).message}` } };
  }
}

function resultView(result: VerificationResult): HTMLElement {
  const label =
    result.status === 'verified' ? 'Verified' : result.status === 'pending' ? 'Pending' : 'Failed';
  const cls =
    result.status === 'verified' ? 'badge-ok' : result.status === 'pending' ? 'badge-muted' : 'badge-bad';
  return h(
    'p',
    { class: 'verify-result', role: 'status' },
    h('span', { class: `badge ${cls}` }, label),
    ' ',
    result.text,
  );
}

type Verify = () => Promise<{ result: VerificationResult; proof?: string }>;

/** One access, with its Verify button (and, once verified, the .tlog-proof to download). */
function entryCard(
  event: AuditEvent,
  verify: Verify,
  directory: PersonDirectory,
  memberName?: string,
): HTMLElement {
  const d = describe(event, directory);
  const reference = readLogEntry(event);
  const out = h('div', {});
  const headingId = `ae-${memberName === undefined ? '' : 'x-'}${event.id}-h`;
  const verifyButton: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      class: 'small',
      'aria-describedby': `${headingId} ${headingId}-what`,
      onclick: async () => {
        verifyButton.disabled = true;
        replace(out, h('p', { class: 'meta', role: 'status' }, 'Verifying…'));
        const { result, proof } = await verify();
        replace(
          out,
          resultView(result),
          proof === undefined
            ? null
            : h(
                'button',
                {
                  type: 'button',
                  class: 'small',
                  onclick: () => download(`entry-${reference?.index}.tlog-proof`, proof, 'text/plain'),
                },
                `Download .tlog-proof (entry ${reference?.index})`,
              ),
        );
        verifyButton.disabled = false;
        // Focus stays on the button the person pressed (it was disabled while verifying).
        verifyButton.focus();
      },
    },
    'Verify',
  );
  return h(
    'li',
    {
      class: 'card',
      'data-audit-id': event.id ?? '',
      'data-outcome': event.outcome ?? '',
      'data-who': d.who,
    },
    // The heading is the date (the sentence below names who): "Dr Grey" twice per card was noise.
    h(
      'h3',
      { id: headingId },
      `${formatDateTime(event.recorded)}${memberName === undefined ? '' : ` at ${memberName}`}`,
    ),
    h(
      'p',
      { id: `${headingId}-what` },
      `${d.who} ${d.what}${d.why === '' ? '' : ` ${d.why}`}`,
      d.breakGlass ? h('span', { class: 'badge badge-bad' }, ' emergency (break-glass)') : null,
    ),
    h(
      'p',
      { class: 'meta' },
      h('span', { class: `badge ${d.outcome === 'allowed' ? 'badge-ok' : 'badge-bad'}` }, d.outcome),
      ` ${event.source?.observer?.display ?? ''}${reference === undefined ? '' : ` · log entry ${reference.index}`}`,
    ),
    h('div', { class: 'row' }, verifyButton),
    out,
  );
}

export const HISTORY_PAGE_SIZE = 20;

/**
 * A filtered, paged list of entries (issue 22): by who and by outcome, the person's own views hidden
 * unless asked for (each visit to this page is itself recorded, and would bury everything else).
 */
function historyList(
  id: string,
  items: readonly { event: AuditEvent; card: () => HTMLElement }[],
  directory: PersonDirectory,
): HTMLElement {
  const described = items.map((item) => ({ ...item, d: describe(item.event, directory) }));
  const who = h('select', { id: `${id}-who` });
  const outcome = h(
    'select',
    { id: `${id}-outcome` },
    h('option', { value: '' }, 'Allowed and refused'),
    h('option', { value: 'allowed' }, 'Allowed'),
    h('option', { value: 'refused' }, 'Refused'),
  );
  const own = h('input', { type: 'checkbox', id: `${id}-own` });
  const people = [...new Set(described.map((x) => x.d.who))].filter((w) => w !== 'You').sort();
  replace(
    who,
    h('option', { value: '' }, 'Everyone'),
    people.map((p) => h('option', { value: p }, p)),
  );
  const status = h('p', { class: 'meta', role: 'status', id: `${id}-count` });
  const list = h('ul', { class: 'cards', id });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of the access history' });
  let page = 1;
  const draw = (focusAfter?: string) => {
    const shown = described.filter(
      (x) =>
        (own.checked || !x.d.self) &&
        (who.value === '' || x.d.who === who.value) &&
        (outcome.value === '' ||
          (outcome.value === 'allowed' ? x.d.outcome === 'allowed' : x.d.outcome !== 'allowed')),
    );
    const pages = Math.max(1, Math.ceil(shown.length / HISTORY_PAGE_SIZE));
    page = Math.min(Math.max(1, page), pages);
    const slice = shown.slice((page - 1) * HISTORY_PAGE_SIZE, page * HISTORY_PAGE_SIZE);
    const hidden = own.checked ? 0 : described.filter((x) => x.d.self).length;
    status.textContent = `${shown.length === 0 ? 'No entries match' : `Showing ${(page - 1) * HISTORY_PAGE_SIZE + 1}–${(page - 1) * HISTORY_PAGE_SIZE + slice.length} of ${shown.length}`}${hidden > 0 ? ` (${hidden} of your own views hidden)` : ''}.`;
    replace(
      list,
      slice.map((x) => x.card()),
    );
    const go = (to: number, button: string) => () => {
      page = to;
      draw(button);
    };
    replace(
      pager,
      pages <= 1
        ? null
        : [
            h(
              'button',
              { type: 'button', id: `${id}-prev`, disabled: page === 1, onclick: go(page - 1, `${id}-prev`) },
              'Previous',
            ),
            h('span', { class: 'meta' }, ` Page ${page} of ${pages} `),
            h(
              'button',
              {
                type: 'button',
                id: `${id}-next`,
                disabled: page === pages,
                onclick: go(page + 1, `${id}-next`),
              },
              'Next',
            ),
          ],
    );
    if (focusAfter !== undefined) {
      const target = document.getElementById(focusAfter) as HTMLButtonElement | null;
      if (target?.disabled === true)
        document.getElementById(focusAfter.endsWith('-next') ? `${id}-prev` : `${id}-next`)?.focus();
      else target?.focus();
    }
  };
  for (const control of [who, outcome, own])
    control.addEventListener('change', () => {
      page = 1;
      draw();
    });
  draw();
  return h(
    'div',
    { class: 'history' },
    h(
      'div',
      { class: 'filters' },
      h('div', { class: 'field' }, h('label', { for: who.id }, 'Who'), who),
      h('div', { class: 'field' }, h('label', { for: outcome.id }, 'Outcome'), outcome),
      h('div', { class: 'field check' }, h('label', { for: own.id }, own, 'Show my own views')),
    ),
    status,
    list,
    pager,
  );
}

export async function renderAccessHistory(main: HTMLElement): Promise<void> {
  const id = patientId(session());
  replace(main, h('h1', { tabindex: '-1' }, 'Access history'), message('info', 'Loading…'));
  const [events, members] = await Promise.all([
    searchAll<AuditEvent>(`/fhir/AuditEvent?patient=${encodeURIComponent(id)}&_count=100`),
    consortiumMembers(true),
  ]);
  // Issue 22: the clinicians by their personal names (their Practitioner resources at this node).
  const directory = await withPractitionerNames(
    await loadDirectory(members),
    events.flatMap((e) => (e.agent ?? []).map((a) => a.who?.reference)),
  );
  events.sort((a, b) => (b.recorded ?? '').localeCompare(a.recorded ?? ''));
  const others = h('div', { id: 'other-members-access' });
  const includeOthers = async (): Promise<void> => {
    const answer = await collectEverywhere(others, includeOthers);
    if (answer === undefined) return;
    const foreign = answer.accessHistory;
    replace(
      others,
      foreign.length === 0
        ? message('info', 'No access to your records is recorded at the other members.')
        : historyList(
            'other-access-list',
            foreign.map((a) => ({
              event: a.auditEvent as AuditEvent,
              card: () =>
                entryCard(
                  a.auditEvent as AuditEvent,
                  async () =>
                    a.tlogProof === undefined
                      ? {
                          result:
                            a.verification.reason === 'not-yet-checkpointed'
                              ? {
                                  status: 'pending',
                                  text: `${a.memberName} has not yet signed a checkpoint covering this entry; show the list again shortly.`,
                                }
                              : {
                                  status: 'failed',
                                  text: `${a.memberName} sent no proof for this entry (${a.verification.reason ?? 'no reason given'}).`,
                                },
                        }
                      : verifyWithProof(a.auditEvent as AuditEvent, a.tlogProof, members),
                  directory,
                  a.memberName,
                ),
            })),
            directory,
          ),
    );
  };
  replace(
    main,
    h('h1', { tabindex: '-1' }, 'Access history'),
    h(
      'p',
      {},
      'Every access to your records at this member, allowed or refused, is recorded in its transparency log. “Verify” checks in your browser that the record is in the log, signed with the key the consortium ledger publishes and cosigned by other members.',
    ),
    // Each entry is an h3 card: under this h2, the outline skips no level (WCAG 1.3.1).
    h('h2', {}, 'At this member'),
    events.length === 0
      ? message('info', 'No access has been recorded yet.')
      : historyList(
          'access-list',
          events.map((event) => ({
            event,
            card: () => entryCard(event, () => verifyAuditEvent(event, members), directory),
          })),
          directory,
        ),
    h('h2', {}, 'At the other members'),
    h('p', {}, 'Other members keep their own logs of who accessed what they hold about you.'),
    h('button', { type: 'button', onclick: () => void includeOthers() }, 'Show access at other members'),
    others,
  );
}
