import type { Address } from 'viem';
import type { ChainIndexStorage } from '../sync/index.js';
import type { ConsentOpening } from './consent-opening.js';

/** Where one opening went, by member address only (no terms, nothing about the patient). */
export interface OpeningDelivery {
  readonly member: Address;
  readonly delivered: boolean;
  /** Why not, when not delivered: an HTTP status or a network failure, never the terms. */
  readonly error?: string;
}

/** What choosing recipients reads of the ledger index. */
export type RecipientIndex = Pick<ChainIndexStorage, 'members' | 'practitioner' | 'recordLocations'>;

export interface OpeningDeliveryOptions {
  readonly index: RecipientIndex;
  /** This member: it keeps its own copy and sends itself nothing. */
  readonly self: Address;
  readonly fetch?: typeof fetch;
  /** Per member; one member being down must not hold the patient's grant for long. */
  readonly timeoutMs?: number;
}

/** The opening as it travels: bigints as decimal strings, the grant id it claims to open. */
export function openingBody(opening: ConsentOpening): string {
  const grant = Object.fromEntries(
    Object.entries(opening.grant).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v]),
  );
  return JSON.stringify({ grantId: opening.grantId, grant, signature: opening.signature });
}

/**
 * The members that must enforce a grant, so must hold its opening (decision 0013): the grantee's node
 * (the grantee itself if it is a member, else the organization that attests it as a practitioner)
 * and every member holding the patient's records (their RecordLocator pointers), except this one.
 */
export async function openingRecipients(
  index: RecipientIndex,
  opening: ConsentOpening,
  self: Address,
): Promise<{ address: Address; fhirBaseUrl: string }[]> {
  const active = new Map(
    (await index.members()).filter((m) => m.status === 'active').map((m) => [m.address.toLowerCase(), m]),
  );
  const wanted = new Set<string>();
  const grantee = opening.grant.grantee.toLowerCase();
  if (active.has(grantee)) wanted.add(grantee);
  else {
    const practitioner = await index.practitioner(opening.grant.grantee);
    if (practitioner !== undefined) wanted.add(practitioner.organization.toLowerCase());
  }
  for (const member of await index.recordLocations(opening.grant.patient)) wanted.add(member.toLowerCase());
  wanted.delete(self.toLowerCase());
  return [...wanted].flatMap((address) => {
    const member = active.get(address);
    return member === undefined || member.fhirBaseUrl === ''
      ? []
      : [{ address: member.address, fhirBaseUrl: member.fhirBaseUrl }];
  });
}

/**
 * Sends an opening to the members that must enforce it (`POST {base}/ledger/consent/openings`), over
 * the same TLS channel as any request between members. Each recipient checks it against the patient's
 * signature and the on-chain commitment itself, so a sender can neither forge nor alter one; it can
 * only fail to deliver, and a grant whose opening a custodian lacks grants nothing there (fail closed).
 */
export function createOpeningDelivery(options: OpeningDeliveryOptions) {
  const send = options.fetch ?? fetch;
  return async (opening: ConsentOpening): Promise<OpeningDelivery[]> => {
    const recipients = await openingRecipients(options.index, opening, options.self);
    const body = openingBody(opening);
    return Promise.all(
      recipients.map(({ address, fhirBaseUrl }) =>
        postOpening(send, { address, fhirBaseUrl }, body, options.timeoutMs),
      ),
    );
  };
}

/** One POST of an opening to one member; a 2xx answer is its acknowledgement. */
export async function postOpening(
  send: typeof fetch,
  recipient: { address: Address; fhirBaseUrl: string },
  body: string,
  timeoutMs = 5_000,
): Promise<OpeningDelivery> {
  const base = recipient.fhirBaseUrl.replace(/\/fhir\/?$/, '');
  try {
    const response = await send(`${base}/ledger/consent/openings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body?.cancel();
    return response.ok
      ? { member: recipient.address, delivered: true }
      : { member: recipient.address, delivered: false, error: `HTTP ${response.status}` };
  } catch (error) {
    return { member: recipient.address, delivered: false, error: (error as Error).name };
  }
}

export type DeliverOpening = ReturnType<typeof createOpeningDelivery>;
