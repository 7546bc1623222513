import type { Resource } from '@medplum/fhirtypes';

/** A span of time in epoch milliseconds, [low, high); either end may be unbounded. */
export interface CareSpan {
  readonly low: number;
  readonly high: number;
}

/**
 * Where each type keeps the date of the care it records, first present wins: what `$everything`'s
 * `start` and `end` select by (R4 patient-operation-everything.html: "care dates, not record currency
 * dates"). A path names a dateTime, date or instant, or a Period; `.` is the resource's own
 * `start`/`end` (Appointment). A type not listed, or a record with none of its paths, has no care
 * date and is always included, as the operation says of non-clinical resources.
 */
const CARE_DATE_PATHS: Readonly<Record<string, readonly string[]>> = {
  AllergyIntolerance: ['onsetDateTime', 'onsetPeriod', 'recordedDate'],
  Appointment: ['.'],
  CarePlan: ['period'],
  CareTeam: ['period'],
  Claim: ['billablePeriod', 'created'],
  Communication: ['sent'],
  Composition: ['date'],
  Condition: ['onsetDateTime', 'onsetPeriod', 'recordedDate'],
  Coverage: ['period'],
  DiagnosticReport: ['effectiveDateTime', 'effectivePeriod', 'issued'],
  DocumentReference: ['context.period', 'date'],
  Encounter: ['period'],
  EpisodeOfCare: ['period'],
  ExplanationOfBenefit: ['billablePeriod', 'created'],
  Goal: ['startDate'],
  ImagingStudy: ['started'],
  Immunization: ['occurrenceDateTime', 'recorded'],
  MedicationAdministration: ['effectiveDateTime', 'effectivePeriod'],
  MedicationDispense: ['whenHandedOver', 'whenPrepared'],
  MedicationRequest: ['authoredOn'],
  MedicationStatement: ['effectiveDateTime', 'effectivePeriod', 'dateAsserted'],
  Observation: ['effectiveDateTime', 'effectivePeriod', 'effectiveInstant', 'issued'],
  Procedure: ['performedDateTime', 'performedPeriod'],
  ServiceRequest: ['occurrenceDateTime', 'occurrencePeriod', 'authoredOn'],
  Specimen: ['collection.collectedDateTime', 'collection.collectedPeriod', 'receivedTime'],
};

const DATE =
  /^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2})(T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:[0-9]{2}))?)?)?$/;

/**
 * The span a FHIR date, dateTime or instant of any precision covers (R4 search.html §3.1.1.4.2:
 * `2013-01` is all of January), or undefined if the text is none of them. A date without a zone is
 * read as UTC.
 */
export function parseFhirDateSpan(text: string): CareSpan | undefined {
  const match = DATE.exec(text);
  if (match === null) return undefined;
  const [, year, month, day, time] = match;
  if (time !== undefined) {
    const instant = Date.parse(text);
    return Number.isNaN(instant) ? undefined : { low: instant, high: instant + 1 };
  }
  const y = Number(year);
  if (month === undefined) return { low: Date.UTC(y, 0, 1), high: Date.UTC(y + 1, 0, 1) };
  const m = Number(month) - 1;
  if (m > 11) return undefined;
  if (day === undefined) return { low: Date.UTC(y, m, 1), high: Date.UTC(y, m + 1, 1) };
  const low = Date.UTC(y, m, Number(day));
  if (new Date(low).getUTCDate() !== Number(day)) return undefined;
  return { low, high: low + 86_400_000 };
}

function valueAt(resource: Resource, path: string): unknown {
  if (path === '.') return resource;
  let value: unknown = resource;
  for (const name of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[name];
  }
  return value;
}

function spanOf(value: unknown): CareSpan | undefined {
  if (typeof value === 'string') return parseFhirDateSpan(value);
  if (typeof value !== 'object' || value === null) return undefined;
  // A Period (or an Appointment's start/end): an end left open runs on (R4 datatypes.html#Period).
  const { start, end } = value as { start?: unknown; end?: unknown };
  const from = typeof start === 'string' ? parseFhirDateSpan(start) : undefined;
  const to = typeof end === 'string' ? parseFhirDateSpan(end) : undefined;
  if (from === undefined && to === undefined) return undefined;
  return { low: from?.low ?? Number.NEGATIVE_INFINITY, high: to?.high ?? Number.POSITIVE_INFINITY };
}

/** The care date of a record, as a span; undefined when its type or the record has none. */
export function careSpanOf(resource: Resource): CareSpan | undefined {
  for (const path of CARE_DATE_PATHS[resource.resourceType] ?? []) {
    const span = spanOf(valueAt(resource, path));
    if (span !== undefined) return span;
  }
  return undefined;
}

/**
 * Whether a record belongs to `$everything` between `start` and `end` (either may be absent): its care
 * date overlaps [start, end], each taken at its precision, or it has no care date.
 */
export function isWithinCareDates(resource: Resource, range: { start?: CareSpan; end?: CareSpan }): boolean {
  const span = careSpanOf(resource);
  if (span === undefined) return true;
  const low = range.start?.low ?? Number.NEGATIVE_INFINITY;
  const high = range.end?.high ?? Number.POSITIVE_INFINITY;
  return span.low < high && span.high > low;
}
