/**
 * Accounting of disclosures (45 CFR 164.528): from a patient's AuditEvents, every successful access
 * by someone other than the patient that falls outside treatment, payment and health care operations
 * at this node (its purpose is not TREAT, ETREAT, HPAYMT or HOPERAT), and every access by another
 * member of the consortium (which leaves this node's custody whatever its purpose), over the six
 * years before the request. Pure: names come from a resolver, the clock from the caller.
 */
import type { AuditEvent, Bundle, Resource } from '@medplum/fhirtypes';

/** Purposes the Privacy Rule exempts from the accounting when the use stays within this node. */
export const TPO_PURPOSES: ReadonlySet<string> = new Set(['TREAT', 'ETREAT', 'HPAYMT', 'HOPERAT']);

/** 45 CFR 164.528(a)(1): "in the six years prior to the date on which the accounting is requested". */
export const ACCOUNTING_YEARS = 6;

const PURPOSE_WORDS: Record<string, string> = {
  TREAT: 'treatment',
  ETREAT: 'emergency treatment',
  HPAYMT: 'payment',
  HOPERAT: 'health care operations',
  PUBHLTH: 'public health',
  HRESCH: 'research',
  HMARKT: 'marketing',
  HLEGAL: 'legal proceedings',
  HSYSADMIN: 'system administration',
  PATRQT: 'a request you made',
  FAMRQT: "your family's request",
  PWATRNY: 'your power of attorney',
  SUPNWK: 'support network',
  COVERAGE: 'insurance coverage',
  CLMATTCH: 'an insurance claim',
  HDIRECT: 'a health directory',
  HQUALIMP: 'quality improvement',
  ETREATDIR: 'emergency treatment',
  PUBHLTHRPT: 'public health reporting',
  BTG: 'emergency access (break-glass)',
};

const TYPE_WORDS: Record<string, string> = {
  Patient: 'your demographics',
  Observation: 'a result or measurement',
  Condition: 'a diagnosis',
  MedicationRequest: 'a prescription',
  MedicationStatement: 'a medication',
  AllergyIntolerance: 'an allergy',
  Immunization: 'an immunization',
  Procedure: 'a procedure',
  Encounter: 'a visit',
  DiagnosticReport: 'a report',
  DocumentReference: 'a document',
  CarePlan: 'a care plan',
  Claim: 'a claim',
  ExplanationOfBenefit: 'a claim decision',
  Communication: 'a message',
  Appointment: 'an appointment',
};

export interface Disclosure {
  /** The AuditEvent that records it. */
  readonly auditEventId: string;
  readonly date: string;
  readonly recipient: string;
  /** Whom they acted for, when a member's system fetched for one of its practitioners. */
  readonly onBehalfOf?: string;
  readonly purposeCode: string;
  readonly purpose: string;
  /** The requester's own words for the purpose (a break-glass reason), when given. */
  readonly statedReason?: string;
  readonly disclosed: string;
  readonly event: AuditEvent;
}

/** Names people and organizations by reference (`Organization/0x…`, `Practitioner/…`); undefined when unknown. */
export type NameOf = (reference: string) => Promise<string | undefined>;

export function purposeInWords(code: string): string {
  return PURPOSE_WORDS[code] ?? `purpose ${code}`;
}

/** What an AuditEvent's entity says was disclosed, in words (no ids). */
export function disclosedInWords(event: AuditEvent): string {
  const what = event.entity?.find((e) => e.type?.code === '2')?.what?.reference ?? '';
  const type = /^([A-Z][A-Za-z]+)(?:[/?]|$)/.exec(what)?.[1];
  const interaction = event.subtype?.[0]?.code;
  if (/\$everything|\$fetch-from-members|\$export/.test(what)) return 'your whole record';
  if (type === undefined) return 'part of your record';
  const words = TYPE_WORDS[type] ?? `a ${type} record`;
  if (interaction === 'search-type') return `a search of your records (${words.replace(/^an? /, '')})`;
  return words;
}

/** Is this AuditEvent a disclosure the accounting must list? */
export function isDisclosure(event: AuditEvent, patientReference: string): boolean {
  if (event.outcome !== '0') return false;
  if (event.action !== 'R' && event.action !== 'E') return false;
  const requestor = event.agent?.find((a) => a.requestor === true) ?? event.agent?.[0];
  const who = requestor?.who?.reference ?? '';
  if (who === '' || who === patientReference) return false;
  if (who.startsWith('Organization/')) return true;
  const purpose = requestor?.purposeOfUse?.[0]?.coding?.[0]?.code ?? '';
  return !TPO_PURPOSES.has(purpose);
}

/** The patient's disclosures within the six years before `now`, newest first. */
export async function accountDisclosures(
  events: readonly AuditEvent[],
  input: { patientReference: string; now: Date; nameOf: NameOf },
): Promise<Disclosure[]> {
  const since = new Date(input.now);
  since.setUTCFullYear(since.getUTCFullYear() - ACCOUNTING_YEARS);
  const names = new Map<string, string>();
  const name = async (reference: string): Promise<string> => {
    const known = names.get(reference);
    if (known !== undefined) return known;
    const found = (await input.nameOf(reference).catch(() => undefined)) ?? unnamed(reference);
    names.set(reference, found);
    return found;
  };
  const rows: Disclosure[] = [];
  for (const event of events) {
    const recorded = new Date(event.recorded ?? '');
    if (Number.isNaN(recorded.getTime()) || recorded < since || recorded > input.now) continue;
    if (!isDisclosure(event, input.patientReference)) continue;
    const requestor = event.agent?.find((a) => a.requestor === true) ?? event.agent?.[0];
    const actor = event.agent?.find((a) => a.requestor === false)?.who?.reference;
    const purposeOfUse = requestor?.purposeOfUse?.[0];
    const code = purposeOfUse?.coding?.[0]?.code ?? '';
    rows.push({
      auditEventId: event.id ?? '',
      date: recorded.toISOString(),
      recipient: await name(requestor?.who?.reference ?? ''),
      ...(actor === undefined ? {} : { onBehalfOf: await name(actor) }),
      purposeCode: code,
      purpose: purposeInWords(code),
      ...(purposeOfUse?.text === undefined ? {} : { statedReason: purposeOfUse.text }),
      disclosed: disclosedInWords(event),
      event,
    });
  }
  return rows.sort((a, b) => b.date.localeCompare(a.date));
}

function unnamed(reference: string): string {
  if (reference.startsWith('Organization/')) return 'another member of the consortium (unnamed)';
  if (reference.startsWith('Practitioner/')) return 'a member of staff (unnamed)';
  return 'an unnamed recipient';
}

/**
 * The accounting as FHIR: a `collection` Bundle whose first entry is a List (code: "accounting of
 * disclosures", one item per disclosure) and whose other entries are the AuditEvents themselves, as
 * served (each with its log entry, so each can be checked against the transparency log).
 */
export function disclosuresAsBundle(
  rows: readonly Disclosure[],
  input: { patientReference: string; now: Date },
): Bundle {
  const list: Resource = {
    resourceType: 'List',
    status: 'current',
    mode: 'snapshot',
    title: 'Accounting of disclosures (45 CFR 164.528)',
    code: { text: 'Accounting of disclosures' },
    subject: { reference: input.patientReference },
    date: input.now.toISOString(),
    entry: rows.map((r) => ({
      date: r.date,
      item: {
        reference: `AuditEvent/${r.auditEventId}`,
        display: `${r.disclosed} to ${r.recipient} for ${r.purpose}`,
      },
    })),
    ...(rows.length === 0 ? { emptyReason: { text: 'No disclosures in the last six years' } } : {}),
  } as Resource;
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: input.now.toISOString(),
    entry: [
      { resource: list },
      ...rows.map((r) => ({ fullUrl: `AuditEvent/${r.auditEventId}`, resource: r.event })),
    ],
  };
}
