/**
 * Printable HTML for a patient: the accounting of disclosures and a human-readable copy of the
 * record. Self-contained pages (an inline print stylesheet, no script) that a browser prints or saves
 * as PDF; every value escaped.
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Disclosure } from './disclosure-accounting.js';

/** Headers of a printable page: no script at all, its own inline style only, never cached or framed. */
export const PRINTABLE_HEADERS: Readonly<Record<string, string>> = {
  'content-type': 'text/html; charset=utf-8',
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#111}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:1.5rem;border-bottom:1px solid #999}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
.meta{color:#444}
@media (max-width:600px){table,thead,tbody,tr,th,td{display:block}thead{display:none}tr{border:1px solid #ccc;margin:.5rem 0;padding:.3rem}td{border:0}td::before{content:attr(data-label) ": ";font-weight:600}}
@media print{body{margin:0}a{color:inherit;text-decoration:none}h2{break-after:avoid}tr{break-inside:avoid}}
`;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** "6 Dec 2026, 23:48" (UTC). */
export function dateInWords(iso: string | undefined): string {
  if (iso === undefined || iso === '') return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const dateOnly = /^\d{4}(-\d{2}){0,2}$/.test(iso);
  return d.toLocaleString('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    ...(dateOnly ? {} : { hour: '2-digit', minute: '2-digit', hour12: false }),
    timeZone: 'UTC',
  });
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const head = headers.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((cell, i) => `<td data-label="${escapeHtml(headers[i] ?? '')}">${escapeHtml(cell)}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function disclosureReportHtml(
  rows: readonly Disclosure[],
  input: { patientName: string; organization: string; now: Date },
): string {
  const body = [
    `<h1>Accounting of disclosures</h1>`,
    `<p class="meta">For ${escapeHtml(input.patientName)} from ${escapeHtml(input.organization)}, prepared ${escapeHtml(dateInWords(input.now.toISOString()))} (UTC). It lists each disclosure of your health information in the six years before this date other than for your treatment, payment and our health care operations, and every copy fetched by another member of the consortium (45 CFR 164.528).</p>`,
    rows.length === 0
      ? '<p>No disclosures in the last six years.</p>'
      : table(
          ['Date', 'Recipient', 'Purpose', 'What was disclosed'],
          rows.map((r) => [
            dateInWords(r.date),
            r.onBehalfOf === undefined ? r.recipient : `${r.recipient}, for ${r.onBehalfOf}`,
            r.statedReason === undefined ? r.purpose : `${r.purpose}: "${r.statedReason}"`,
            r.disclosed,
          ]),
        ),
  ];
  return page('Accounting of disclosures', body.join(''));
}

const SECTIONS: readonly (readonly [string, string])[] = [
  ['AllergyIntolerance', 'Allergies'],
  ['Condition', 'Problems and diagnoses'],
  ['MedicationRequest', 'Prescriptions'],
  ['MedicationStatement', 'Medications'],
  ['Immunization', 'Immunizations'],
  ['Observation', 'Results and measurements'],
  ['DiagnosticReport', 'Reports'],
  ['Procedure', 'Procedures'],
  ['Encounter', 'Visits'],
  ['CarePlan', 'Care plans'],
  ['Appointment', 'Appointments'],
  ['DocumentReference', 'Documents'],
];

type Loose = Record<string, unknown>;

function conceptText(value: unknown): string {
  const c = value as { text?: string; coding?: { display?: string; code?: string }[] } | undefined;
  if (c === undefined) return '';
  return c.text ?? c.coding?.find((x) => x.display !== undefined)?.display ?? c.coding?.[0]?.code ?? '';
}

/** The clinical date of a record (not `meta.lastUpdated`). */
export function clinicalDate(r: Loose): string | undefined {
  const period = (p: unknown) => (p as { start?: string } | undefined)?.start;
  return (r.effectiveDateTime ??
    period(r.effectivePeriod) ??
    r.onsetDateTime ??
    r.recordedDate ??
    r.authoredOn ??
    r.occurrenceDateTime ??
    r.performedDateTime ??
    period(r.performedPeriod) ??
    period(r.period) ??
    r.start ??
    r.date ??
    r.issued) as string | undefined;
}

function round(value: number): string {
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return String(Number(value.toFixed(digits)));
}

function summary(r: Loose): string {
  const parts: string[] = [];
  const what =
    conceptText(r.code) ||
    conceptText(r.medicationCodeableConcept) ||
    conceptText(r.vaccineCode) ||
    conceptText((r.type as unknown[] | undefined)?.[0]) ||
    (r.description as string | undefined) ||
    (r.title as string | undefined) ||
    conceptText((r.category as unknown[] | undefined)?.[0]);
  if (what) parts.push(what);
  const q = r.valueQuantity as { value?: number; unit?: string } | undefined;
  if (q?.value !== undefined) parts.push(`${round(q.value)} ${q.unit ?? ''}`.trim());
  if (typeof r.valueString === 'string') parts.push(r.valueString);
  if (r.valueCodeableConcept !== undefined) parts.push(conceptText(r.valueCodeableConcept));
  const dosage = (r.dosageInstruction as { text?: string }[] | undefined)?.[0]?.text;
  if (dosage !== undefined) parts.push(dosage);
  return parts.join(' — ') || 'Record';
}

function status(r: Loose): string {
  return (conceptText(r.clinicalStatus) || (r.status as string | undefined) || '').toString();
}

/** A human-readable copy of the patient's record, by section, oldest sections' order fixed. */
export function recordCopyHtml(
  resources: readonly Resource[],
  input: { patientName: string; organization: string; now: Date },
): string {
  const byType = new Map<string, Loose[]>();
  for (const r of resources) {
    const list = byType.get(r.resourceType) ?? [];
    list.push(r as unknown as Loose);
    byType.set(r.resourceType, list);
  }
  const body = [
    `<h1>Health record of ${escapeHtml(input.patientName)}</h1>`,
    `<p class="meta">A copy of the records ${escapeHtml(input.organization)} holds, printed ${escapeHtml(dateInWords(input.now.toISOString()))} (UTC). The FHIR Bundle and the signed International Patient Summary are under Downloads.</p>`,
  ];
  for (const [type, title] of SECTIONS) {
    const list = byType.get(type);
    if (list === undefined || list.length === 0) continue;
    list.sort((a, b) => (clinicalDate(b) ?? '').localeCompare(clinicalDate(a) ?? ''));
    body.push(
      `<h2>${escapeHtml(title)} (${list.length})</h2>`,
      table(
        ['Date', 'What', 'Status'],
        list.map((r) => [dateInWords(clinicalDate(r)), summary(r), status(r)]),
      ),
    );
  }
  if (body.length === 2) body.push('<p>No records are held for you here.</p>');
  return page('Your health record', body.join(''));
}
