/**
 * Who accessed the patient's records, from this node's AuditEvents, each checkable in the browser:
 * the salted commitment (recomputed from the AuditEvent), the C2SP tlog-proof's inclusion proof, the
 * log's Ed25519 signature with the key the ledger publishes, and the witnesses' cosignatures.
 */
import { ApiError, errorText, request, searchAll } from '../api.js';
import { consortiumMembers, type Member } from '../context.js';
import { download, formatDateTime, h, message, replace } from '../dom.js';
import type { Resource } from '../fhir-display.js';
import { patientId, session } from '../session.js';
import { createAuditEntry, readLogEntry } from '../verify/audit-commitment.js';
import { ProofVerificationError, verifyTlogProof, witnessVerifierOf } from '../verify/verify-tlog-proof.js';
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

const ACTIONS: Record<string, string> = {
  C: 'created',
  R: 'read',
  U: 'updated',
  D: 'deleted',
  E: 'ran an operation on',
};
const BREAK_GLASS = '110127';

/** `Organization/0x…` of a consortium member, by its name on the ledger (the reference kept beside it). */
function memberNamed(reference: string | undefined, members: readonly Member[]): string | undefined {
  if (reference === undefined || !reference.startsWith('Organization/0x')) return undefined;
  const address = reference.slice('Organization/'.length).toLowerCase();
  const member = members.find((m) => m.address.toLowerCase() === address);
  return member === undefined ? undefined : `${member.name} (${reference})`;
}

function describe(
  e: AuditEvent,
  members: readonly Member[],
): {
  who: string;
  what: string;
  why: string;
  outcome: string;
  breakGlass: boolean;
} {
  const requestor = e.agent?.find((a) => a.requestor) ?? e.agent?.[0];
  const reference = requestor?.who?.reference;
  // A member asking for one of its practitioners names them as a second agent (IHE BALP).
  const onBehalfOf = e.agent?.find((a) => a !== requestor && a.requestor === false)?.who?.reference;
  const requester =
    reference !== undefined && reference === session()?.fhirUser
      ? 'You'
      : (requestor?.who?.display ?? memberNamed(reference, members) ?? reference ?? 'unknown');
  const who = onBehalfOf === undefined ? requester : `${requester} for ${onBehalfOf}`;
  const subject =
    e.entity?.find((x) => x.role?.code !== '1')?.what?.reference ?? e.entity?.[0]?.what?.reference ?? '';
  const searched = e.subtype?.some((c) => c.code === 'search-type') === true;
  const target = subject.replace(/\/_history\/\d+$/, '').replace(/\?.*$/, searched ? ' records' : '');
  const what = `${searched ? 'searched' : (ACTIONS[e.action ?? ''] ?? 'accessed')} ${target}`.trim();
  const purposes = (e.purposeOfEvent ?? []).flatMap((p) => p.coding?.map((c) => c.code ?? '') ?? []);
  const why = [purposes.join(', '), e.purposeOfEvent?.find((p) => p.text)?.text].filter(Boolean).join(' — ');
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
  return { who, what, why, outcome, breakGlass };
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
  members: readonly Member[],
  memberName?: string,
): HTMLElement {
  const d = describe(event, members);
  const reference = readLogEntry(event);
  const out = h('div', {});
  const headingId = `ae-${memberName === undefined ? '' : 'x-'}${event.id}-h`;
  const verifyButton: HTMLButtonElement = h(
    'button',
    {
      type: 'button',
      class: 'small',
      'aria-describedby': headingId,
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
      },
    },
    'Verify',
  );
  return h(
    'li',
    { class: 'card', 'data-audit-id': event.id ?? '', 'data-outcome': event.outcome ?? '' },
    h(
      'h3',
      { id: headingId },
      `${formatDateTime(event.recorded)} · ${d.who}${memberName === undefined ? '' : ` at ${memberName}`}`,
    ),
    h(
      'p',
      {},
      `${d.who} ${d.what}`,
      d.breakGlass ? h('span', { class: 'badge badge-bad' }, ' emergency (break-glass)') : null,
    ),
    h(
      'p',
      { class: 'meta' },
      `Purpose: ${d.why || 'not given'} · ${d.outcome} · ${event.source?.observer?.display ?? ''}${reference === undefined ? '' : ` · log entry ${reference.index}`}`,
    ),
    h('div', { class: 'row' }, verifyButton),
    out,
  );
}

export async function renderAccessHistory(main: HTMLElement): Promise<void> {
  const id = patientId(session());
  replace(main, h('h1', { tabindex: '-1' }, 'Access history'), message('info', 'Loading…'));
  const [events, members] = await Promise.all([
    searchAll<AuditEvent>(`/fhir/AuditEvent?patient=${encodeURIComponent(id)}&_count=100`),
    consortiumMembers(true),
  ]);
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
        : h(
            'ul',
            { class: 'cards' },
            foreign.map((a) =>
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
                members,
                a.memberName,
              ),
            ),
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
      : h(
          'ul',
          { class: 'cards', id: 'access-list' },
          events.map((event) => entryCard(event, () => verifyAuditEvent(event, members), members)),
        ),
    h('h2', {}, 'At the other members'),
    h('p', {}, 'Other members keep their own logs of who accessed what they hold about you.'),
    h('button', { type: 'button', onclick: () => void includeOthers() }, 'Show access at other members'),
    others,
  );
}
