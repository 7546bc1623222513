/** Plain-language rendering of the FHIR R4 resources the timeline and chart show. */

import { trendChart } from './chart.js';
import { claimAmounts } from './claim-summary.js';
import { formatDate, formatDateTime, h } from './dom.js';
import {
  FLAG_WORDS,
  formatQuantity,
  formatRange,
  type ReferenceRange,
  resultFlag,
} from './quantity-format.js';
import { clinicalDate, summarize } from './record-summary.js';

export type Resource = Record<string, unknown> & {
  resourceType: string;
  id?: string;
  meta?: {
    lastUpdated?: string;
    source?: string;
    tag?: { system?: string; code?: string; display?: string }[];
  };
};
interface Coding {
  system?: string;
  code?: string;
  display?: string;
}
interface CodeableConcept {
  text?: string;
  coding?: Coding[];
}
interface Quantity {
  value?: number;
  unit?: string;
  code?: string;
  comparator?: string;
}

export const LOINC = 'http://loinc.org';
/** The meta.tag a member puts on records it received (and verified) from another member. */
export const RECEIVED_FROM_SYSTEM = 'https://careledger.dev/fhir/CodeSystem/received-from';

/** The name of the member a record was received from (its received-from tag), if any. */
export function receivedFrom(r: Resource): string | undefined {
  const tag = r.meta?.tag?.find((t) => t.system === RECEIVED_FROM_SYSTEM);
  if (tag === undefined) return undefined;
  return tag.display ?? tag.code ?? r.meta?.source ?? 'another member';
}

/** `text`, then "from <member>" when the record came from another member. */
function withOrigin(r: Resource, text: string): Node | string {
  const from = receivedFrom(r);
  if (from === undefined) return text;
  return h(
    'span',
    {},
    text,
    ' ',
    h('span', { class: 'badge badge-muted received-from', title: r.meta?.source ?? '' }, `from ${from}`),
  );
}

export function conceptText(c: CodeableConcept | undefined): string {
  if (c === undefined) return '';
  return c.text ?? c.coding?.find((x) => x.display)?.display ?? c.coding?.[0]?.code ?? '';
}

/** A value at its meaningful precision, with its unit as people write it (quantity-format.ts). */
export function quantityText(q: Quantity | undefined): string {
  return formatQuantity(q);
}

function observationValue(o: Resource): string {
  if (o.valueQuantity !== undefined) return quantityText(o.valueQuantity as Quantity);
  if (o.valueCodeableConcept !== undefined) return conceptText(o.valueCodeableConcept as CodeableConcept);
  if (typeof o.valueString === 'string') return o.valueString;
  if (typeof o.valueBoolean === 'boolean') return o.valueBoolean ? 'yes' : 'no';
  if (Array.isArray(o.component)) {
    return (o.component as { code?: CodeableConcept; valueQuantity?: Quantity }[])
      .map((c) => `${conceptText(c.code)} ${quantityText(c.valueQuantity)}`)
      .join(', ');
  }
  return '';
}

/** When the record happened (not when this member stored it: meta.lastUpdated is never shown as it). */
function effective(r: Resource): string | undefined {
  return clinicalDate(r);
}

function categoryCodes(r: Resource): string[] {
  return ((r.category ?? []) as CodeableConcept[]).flatMap((c) => (c.coding ?? []).map((x) => x.code ?? ''));
}

export interface Groups {
  labs: Resource[];
  vitals: Resource[];
  otherObservations: Resource[];
  medications: Resource[];
  conditions: Resource[];
  immunizations: Resource[];
  allergies: Resource[];
  documents: Resource[];
  /** ExplanationOfBenefit from a payer (decision 0019). */
  claims: Resource[];
  encounters: Resource[];
  procedures: Resource[];
  carePlans: Resource[];
  other: Resource[];
}

export function groupRecords(resources: readonly Resource[]): Groups {
  const g: Groups = {
    labs: [],
    vitals: [],
    otherObservations: [],
    medications: [],
    conditions: [],
    immunizations: [],
    allergies: [],
    documents: [],
    claims: [],
    encounters: [],
    procedures: [],
    carePlans: [],
    other: [],
  };
  for (const r of resources) {
    switch (r.resourceType) {
      case 'Observation': {
        const cats = categoryCodes(r);
        if (cats.includes('laboratory')) g.labs.push(r);
        else if (cats.includes('vital-signs')) g.vitals.push(r);
        else g.otherObservations.push(r);
        break;
      }
      case 'DiagnosticReport':
        g.labs.push(r);
        break;
      case 'MedicationRequest':
      case 'MedicationStatement':
        g.medications.push(r);
        break;
      case 'Condition':
        g.conditions.push(r);
        break;
      case 'Immunization':
        g.immunizations.push(r);
        break;
      case 'AllergyIntolerance':
        g.allergies.push(r);
        break;
      case 'DocumentReference':
      case 'Composition':
        g.documents.push(r);
        break;
      case 'ExplanationOfBenefit':
        g.claims.push(r);
        break;
      case 'Encounter':
        g.encounters.push(r);
        break;
      case 'Procedure':
        g.procedures.push(r);
        break;
      case 'CarePlan':
        g.carePlans.push(r);
        break;
      case 'Patient':
      case 'AuditEvent':
      case 'Consent':
      case 'Provenance':
        break;
      default:
        g.other.push(r);
    }
  }
  // Records without a clinical date sort by when they were stored, but that date is not shown.
  const sortKey = (r: Resource) => effective(r) ?? r.meta?.lastUpdated ?? '';
  const byDateDesc = (a: Resource, b: Resource) => sortKey(b).localeCompare(sortKey(a));
  for (const list of Object.values(g)) (list as Resource[]).sort(byDateDesc);
  return g;
}

/** `extra` adds a column (the member a record came from, its verification). */
type Extra = { header: string; cell: (r: Resource) => Node | string };

function table(caption: string, headers: string[], rows: (Node | string)[][]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'stack' },
      h('caption', { class: 'visually-hidden' }, caption),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headers.map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((cells) =>
          h(
            'tr',
            {},
            cells.map((c, i) => h('td', { 'data-label': headers[i] ?? '' }, c)),
          ),
        ),
      ),
    ),
  );
}

/** "High · normal 70–99 mg/dL": the flag from interpretation or range, then the range. */
function rangeAndFlag(o: Resource): string {
  const ranges = o.referenceRange as ReferenceRange[] | undefined;
  const flag = resultFlag(
    o.valueQuantity as Quantity | undefined,
    o.interpretation as CodeableConcept[],
    ranges,
  );
  const range = formatRange(ranges?.[0]);
  return [
    flag === undefined || flag === 'normal' ? '' : FLAG_WORDS[flag],
    range === '' ? '' : `normal ${range}`,
  ]
    .filter(Boolean)
    .join(' · ');
}

/** Observations as a table, then one trend chart per LOINC code with two or more numeric values. */
export function observationSection(title: string, observations: Resource[], extra?: Extra): HTMLElement[] {
  if (observations.length === 0) return [];
  const rows = observations.map((o) => [
    formatDateTime(effective(o)),
    withOrigin(o, conceptText(o.code as CodeableConcept) || o.resourceType),
    observationValue(o),
    rangeAndFlag(o),
    ...(extra === undefined ? [] : [extra.cell(o)]),
  ]);
  return [
    h('h2', {}, title),
    table(
      title,
      ['Date', 'Test', 'Result', 'Range or interpretation', ...(extra === undefined ? [] : [extra.header])],
      rows,
    ),
    ...trendFigures(observations),
  ];
}

/** One trend chart per LOINC code with two or more numeric values. */
export function trendFigures(observations: readonly Resource[]): HTMLElement[] {
  const charts: HTMLElement[] = [];
  const byCode = new Map<string, { label: string; unit: string; points: { at: string; value: number }[] }>();
  for (const o of observations) {
    const coding = (o.code as CodeableConcept | undefined)?.coding?.find((c) => c.system === LOINC);
    const q = o.valueQuantity as Quantity | undefined;
    const at = effective(o);
    if (coding?.code === undefined || typeof q?.value !== 'number' || at === undefined) continue;
    const entry = byCode.get(coding.code) ?? {
      label: conceptText(o.code as CodeableConcept),
      unit: q.unit ?? q.code ?? '',
      points: [],
    };
    entry.points.push({ at, value: q.value });
    byCode.set(coding.code, entry);
  }
  for (const [code, series] of byCode) {
    if (series.points.length < 2) continue;
    charts.push(
      h(
        'figure',
        { class: 'trend' },
        trendChart(series.points, `${series.label} (LOINC ${code})`, series.unit),
        h(
          'figcaption',
          { class: 'meta' },
          `${series.label} (LOINC ${code}), ${series.points.length} results`,
        ),
      ),
    );
  }
  return charts;
}

function listSection(
  title: string,
  items: Resource[],
  describe: (r: Resource) => [string, string],
  extra?: Extra,
): HTMLElement[] {
  if (items.length === 0) return [];
  return [
    h('h2', {}, title),
    table(
      title,
      ['Date', 'Item', 'Details', ...(extra === undefined ? [] : [extra.header])],
      items.map((r) => {
        const [what, details] = describe(r);
        return [
          formatDate(effective(r)),
          withOrigin(r, what),
          details,
          ...(extra === undefined ? [] : [extra.cell(r)]),
        ];
      }),
    ),
  ];
}

function decodeAttachment(data: string | undefined): string {
  if (data === undefined) return '';
  try {
    const binary = atob(data);
    return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    return '';
  }
}

/** An ExplanationOfBenefit's heading: its claim type and the provider. */
function claimTitle(r: Resource): string {
  const provider = (r.provider as { display?: string } | undefined)?.display;
  return [conceptText(r.type as CodeableConcept) || 'Claim', provider].filter(Boolean).join(' · ');
}

/** The grouped timeline: labs and vital signs (tables and trends), medications, conditions, … */
export function timelineSections(resources: readonly Resource[], extra?: Extra): HTMLElement[] {
  const g = groupRecords(resources);
  return [
    ...observationSection(
      'Lab results',
      g.labs.filter((r) => r.resourceType === 'Observation'),
      extra,
    ),
    ...listSection(
      'Lab reports',
      g.labs.filter((r) => r.resourceType === 'DiagnosticReport'),
      summarize,
      extra,
    ),
    ...observationSection('Vital signs', g.vitals, extra),
    ...observationSection('Other observations', g.otherObservations, extra),
    ...listSection(
      'Medications',
      g.medications,
      (r) => [
        conceptText(r.medicationCodeableConcept as CodeableConcept) ||
          String((r.medicationReference as { display?: string } | undefined)?.display ?? 'Medication'),
        [
          String(r.status ?? ''),
          ((r.dosageInstruction ?? r.dosage ?? []) as { text?: string }[])
            .map((d) => d.text)
            .filter(Boolean)
            .join('; '),
        ]
          .filter(Boolean)
          .join(' · '),
      ],
      extra,
    ),
    ...listSection(
      'Conditions',
      g.conditions,
      (r) => [conceptText(r.code as CodeableConcept), conceptText(r.clinicalStatus as CodeableConcept)],
      extra,
    ),
    ...listSection(
      'Allergies',
      g.allergies,
      (r) => [conceptText(r.code as CodeableConcept), String(r.criticality ?? '')],
      extra,
    ),
    ...listSection(
      'Immunizations',
      g.immunizations,
      (r) => [conceptText(r.vaccineCode as CodeableConcept), String(r.status ?? '')],
      extra,
    ),
    ...listSection(
      'Documents and notes',
      g.documents,
      (r) => {
        const content = (
          r.content as { attachment?: { title?: string; contentType?: string; data?: string } }[] | undefined
        )?.[0]?.attachment;
        const text = content?.contentType?.startsWith('text/') ? decodeAttachment(content.data) : '';
        return [
          String(
            r.description ??
              r.title ??
              content?.title ??
              conceptText(r.type as CodeableConcept) ??
              'Document',
          ),
          text.length > 400 ? `${text.slice(0, 400)}…` : text,
        ];
      },
      extra,
    ),
    ...listSection('Visits', g.encounters, summarize, extra),
    ...listSection('Procedures', g.procedures, summarize, extra),
    ...listSection('Care plans', g.carePlans, summarize, extra),
    ...listSection('Claims and what you owe', g.claims, (r) => [claimTitle(r), claimAmounts(r)], extra),
    ...listSection(
      'Other records',
      g.other,
      (r) => {
        const [what, details] = summarize(r);
        return [r.resourceType, [what === r.resourceType ? '' : what, details].filter(Boolean).join(' · ')];
      },
      extra,
    ),
  ];
}
