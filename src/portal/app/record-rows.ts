/**
 * The patient's one record list (issue 22, "Make it readable"): every record as a row with its tab,
 * clinical date, what it is, its result at meaningful precision with range and flag, and where it
 * comes from; each record once, though this member and another may both serve it (a copy received
 * from a member carries `meta.source` naming that member's version). Pure functions (no DOM).
 */
import { observationDataCategories } from '../../access/observation-categories.js';
import type { DataCategory } from '../../ledger/codes.js';
import { claimAmounts } from './claim-summary.js';
import {
  type Flag,
  formatQuantity,
  formatRange,
  type Quantity,
  type ReferenceRange,
  resultFlag,
  roundValue,
} from './quantity-format.js';
import { clinicalDate, conceptWords, summarize } from './record-summary.js';
import { statusWords } from './status-words.js';

type Res = Record<string, unknown> & {
  resourceType: string;
  id?: string;
  meta?: {
    versionId?: string;
    source?: string;
    tag?: { system?: string; code?: string; display?: string }[];
  };
};

export const TABS = [
  ['results', 'Test results'],
  ['vitals', 'Vital signs'],
  ['medications', 'Medications'],
  ['conditions', 'Conditions'],
  ['allergies', 'Allergies'],
  ['immunizations', 'Immunizations'],
  ['visits', 'Visits and procedures'],
  ['documents', 'Documents'],
  ['history', 'History and exams'],
  ['care-plans', 'Care plans'],
  ['claims', 'Claims'],
  ['other', 'Other'],
] as const;
export type Tab = (typeof TABS)[number][0];

export interface RecordRow {
  readonly key: string;
  readonly tab: Tab;
  /** ISO date the record is about, '' when it has none. */
  readonly date: string;
  readonly title: string;
  readonly result: string;
  readonly range: string;
  readonly flag?: Flag;
  readonly details: string;
  /** The member that produced the record (a name). */
  readonly from: string;
  /** 'verified', 'not verified: reason', or '' when not checked. */
  readonly verification: string;
  readonly resource: Res;
}

/** A record as served, with the member it came from and its proof status if checked. */
export interface ServedRecord {
  readonly resource: Res;
  /** The name of the member that served it. */
  readonly servedBy: string;
  /** The member's FHIR base URL, to recognise copies of its records held elsewhere. */
  readonly servedByBase?: string;
  readonly verification?: { status: string; reason?: string };
}

const RECEIVED_FROM = 'https://careledger.dev/fhir/CodeSystem/received-from';
const HIDDEN = new Set(['Patient', 'AuditEvent', 'Consent', 'Provenance', 'Bundle', 'OperationOutcome']);

function categoryCodes(r: Res): string[] {
  return ((r.category ?? []) as { coding?: { code?: string }[] }[]).flatMap((c) =>
    (c.coding ?? []).map((x) => x.code ?? ''),
  );
}

/** The tab of an Observation's first sharing category (decision 0049), so the list and the grant form agree. */
const OBSERVATION_TABS: Partial<Record<DataCategory, Tab>> = {
  'vital-signs': 'vitals',
  laboratory: 'results',
  imaging: 'results',
  procedures: 'visits',
  'clinical-notes': 'history',
};

export function tabOf(r: Res): Tab | undefined {
  switch (r.resourceType) {
    case 'Observation':
      return OBSERVATION_TABS[observationDataCategories(categoryCodes(r))[0] ?? 'laboratory'] ?? 'results';
    case 'DiagnosticReport':
      return 'results';
    case 'MedicationRequest':
    case 'MedicationStatement':
    case 'MedicationDispense':
    case 'MedicationAdministration':
      return 'medications';
    case 'Condition':
      return 'conditions';
    case 'AllergyIntolerance':
      return 'allergies';
    case 'Immunization':
      return 'immunizations';
    case 'Encounter':
    case 'Procedure':
      return 'visits';
    case 'DocumentReference':
    case 'Composition':
      return 'documents';
    case 'CarePlan':
    case 'Goal':
    case 'CareTeam':
      return 'care-plans';
    case 'ExplanationOfBenefit':
    case 'Claim':
    case 'ClaimResponse':
      return 'claims';
    default:
      return HIDDEN.has(r.resourceType) ? undefined : 'other';
  }
}

function observationResult(o: Res): { result: string; range: string; flag?: Flag } {
  const q = o.valueQuantity as Quantity | undefined;
  const ranges = o.referenceRange as ReferenceRange[] | undefined;
  const flag = resultFlag(q, o.interpretation as { coding?: { code?: string }[] }[] | undefined, ranges);
  let result = '';
  if (q !== undefined) result = formatQuantity(q);
  else if (o.valueCodeableConcept !== undefined) result = conceptWords(o.valueCodeableConcept);
  else if (typeof o.valueString === 'string') result = o.valueString;
  else if (typeof o.valueBoolean === 'boolean') result = o.valueBoolean ? 'yes' : 'no';
  else if (Array.isArray(o.component)) {
    const parts = o.component as { code?: { coding?: { code?: string }[] }; valueQuantity?: Quantity }[];
    // Blood pressure reads "systolic/diastolic mmHg" (LOINC 8480-6 over 8462-4), as people write it.
    const part = (loinc: string) =>
      parts.find((c) => c.code?.coding?.some((x) => x.code === loinc))?.valueQuantity?.value;
    const systolic = part('8480-6');
    const diastolic = part('8462-4');
    result =
      systolic !== undefined && diastolic !== undefined
        ? `${roundValue(systolic, 'mm[Hg]')}/${roundValue(diastolic, 'mm[Hg]')} mmHg`
        : parts.map((c) => `${conceptWords(c.code)} ${formatQuantity(c.valueQuantity)}`).join(', ');
  }
  return { result, range: formatRange(ranges?.[0]), ...(flag === undefined ? {} : { flag }) };
}

/** A text attachment's words (base64 UTF-8), '' when it does not decode. */
function decodeText(data: string | undefined): string {
  if (data === undefined) return '';
  try {
    return new TextDecoder().decode(Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
  } catch {
    return '';
  }
}

function medicationTitle(r: Res): string {
  return (
    conceptWords(r.medicationCodeableConcept) ||
    String((r.medicationReference as { display?: string } | undefined)?.display ?? 'Medication')
  );
}

/** A Condition's or allergy's clinical status (a coded concept) in words, by its code where known. */
function clinicalStatusWords(r: Res): string {
  const concept = r.clinicalStatus as { coding?: { code?: string }[] } | undefined;
  const code = concept?.coding?.find((c) => c.code !== undefined)?.code;
  return code === undefined ? conceptWords(concept) : statusWords(r.resourceType, code);
}

/** One row: the record's words, whoever served it. */
export function recordRow(served: ServedRecord): RecordRow | undefined {
  const r = served.resource;
  const tab = tabOf(r);
  if (tab === undefined) return undefined;
  const [what, details] = summarize(r);
  let title = what;
  let result = '';
  let range = '';
  let flag: Flag | undefined;
  let more = details;
  if (r.resourceType === 'Observation') {
    title = conceptWords(r.code) || 'Observation';
    ({ result, range, flag } = observationResult(r));
    more = '';
  } else if (tab === 'medications') {
    title = medicationTitle(r);
    const dosage = ((r.dosageInstruction ?? r.dosage ?? []) as { text?: string }[])
      .map((d) => d.text)
      .filter(Boolean);
    more = [statusWords(r.resourceType, r.status), ...dosage].filter(Boolean).join(' · ');
  } else if (r.resourceType === 'Condition') {
    more = clinicalStatusWords(r);
  } else if (r.resourceType === 'AllergyIntolerance') {
    more = [r.criticality === 'high' ? 'High risk' : '', clinicalStatusWords(r)].filter(Boolean).join(' · ');
  } else if (r.resourceType === 'Immunization') {
    title = conceptWords(r.vaccineCode) || 'Immunization';
  } else if (tab === 'claims') {
    const provider = (r.provider as { display?: string } | undefined)?.display;
    title = [conceptWords(r.type) || 'Claim', provider].filter(Boolean).join(' · ');
    more = claimAmounts(r);
  } else if (tab === 'documents') {
    const attachment = (
      r.content as { attachment?: { title?: string; contentType?: string; data?: string } }[] | undefined
    )?.[0]?.attachment;
    title = String(r.description ?? r.title ?? attachment?.title ?? (conceptWords(r.type) || 'Document'));
    const text = attachment?.contentType?.startsWith('text/') === true ? decodeText(attachment.data) : '';
    more = [conceptWords(r.type), text.length > 400 ? `${text.slice(0, 400)}…` : text]
      .filter(Boolean)
      .join(' · ');
  }
  const tag = r.meta?.tag?.find((t) => t.system === RECEIVED_FROM);
  const from = tag?.display ?? served.servedBy;
  const v = served.verification;
  return {
    key: recordKey(served),
    tab,
    date: clinicalDate(r) ?? '',
    title,
    result,
    range,
    ...(flag === undefined ? {} : { flag }),
    details: more,
    from,
    verification:
      v === undefined ? '' : v.status === 'verified' ? 'verified' : `not verified: ${v.reason ?? 'unknown'}`,
    resource: r,
  };
}

/**
 * The original's identity: a received copy names its source version in `meta.source`; an original is
 * its member's base + `Type/id/_history/v`; without a base, the type and id as served.
 */
export function recordKey(served: ServedRecord): string {
  const r = served.resource;
  const tagged = r.meta?.tag?.some((t) => t.system === RECEIVED_FROM) === true;
  if (tagged && r.meta?.source !== undefined) return r.meta.source.replace(/\/_history\/[^/]+$/, '');
  const base = served.servedByBase?.replace(/\/$/, '');
  return base === undefined ? `${r.resourceType}/${r.id}` : `${base}/${r.resourceType}/${r.id}`;
}

/**
 * Every record once, newest first: a copy and its original (or this member's record served again in
 * the view across members) become one row; the checked one (with a proof status) wins.
 */
export function mergeRecords(records: readonly ServedRecord[]): RecordRow[] {
  const rows = new Map<string, RecordRow>();
  for (const served of records) {
    const row = recordRow(served);
    if (row === undefined) continue;
    const held = rows.get(row.key);
    if (held === undefined || (held.verification === '' && row.verification !== '')) rows.set(row.key, row);
  }
  return [...rows.values()].sort((a, b) => b.date.localeCompare(a.date));
}

export interface RecordFilter {
  readonly tab?: Tab | 'all';
  readonly from?: string;
  readonly text?: string;
}

/** The rows a tab, a member and a search text keep (case-insensitive, over every shown word). */
export function filterRecords(rows: readonly RecordRow[], filter: RecordFilter): RecordRow[] {
  const text = (filter.text ?? '').trim().toLowerCase();
  return rows.filter(
    (row) =>
      (filter.tab === undefined || filter.tab === 'all' || row.tab === filter.tab) &&
      (filter.from === undefined || filter.from === '' || row.from === filter.from) &&
      (text === '' ||
        [row.title, row.result, row.details, row.from, row.range].join(' ').toLowerCase().includes(text)),
  );
}

/** One page of `items` (1-based), with where it is in the whole. */
export function pageOf<T>(
  items: readonly T[],
  page: number,
  size: number,
): { items: T[]; page: number; pages: number } {
  const pages = Math.max(1, Math.ceil(items.length / size));
  const current = Math.min(Math.max(1, page), pages);
  return { items: items.slice((current - 1) * size, current * size), page: current, pages };
}
