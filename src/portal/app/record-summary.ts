/**
 * Each record type's clinical date and a one-line summary (issue 22 item 4): an Encounter is dated by
 * when the visit began, a Procedure by when it was performed, a CarePlan by its period; never by
 * `meta.lastUpdated`, which is when this member stored the record (today, for anything just received).
 * Pure functions (no DOM).
 */

import { formatDate } from './date-words.js';
import { intentWords, statusWords } from './status-words.js';

interface Coding {
  system?: string;
  code?: string;
  display?: string;
}
interface Concept {
  text?: string;
  coding?: Coding[];
}
interface Period {
  start?: string;
  end?: string;
}
type Record_ = Record<string, unknown> & { resourceType: string };

/**
 * SNOMED CT fully specified names end in a semantic tag ("Anemia (disorder)", "Encounter for check up
 * (procedure)"; SNOMED CT Editorial Guide §4.2.2); a person reads the term without it.
 */
const SEMANTIC_TAG =
  / \((?:disorder|procedure|finding|situation|regime\/therapy|observable entity|qualifier value|substance|body structure|event|morphologic abnormality|physical object|product|record artifact|environment|person|assessment scale|clinical drug|medicinal product)\)$/;

/** A concept's words: its text, else a coding's display (SNOMED CT's semantic tag left out), else a code. */
export function conceptWords(c: unknown): string {
  const concept = c as Concept | undefined;
  if (concept === undefined || concept === null) return '';
  const words =
    concept.text ?? concept.coding?.find((x) => x.display)?.display ?? concept.coding?.[0]?.code ?? '';
  // Synthea copies the SNOMED CT display into text too: the tag goes wherever the concept is SNOMED CT.
  const snomed = concept.coding?.some((x) => x.system === 'http://snomed.info/sct') === true;
  return snomed ? words.replace(SEMANTIC_TAG, '') : words;
}

function firstConcept(list: unknown): string {
  return Array.isArray(list) ? (list.map(conceptWords).find((t) => t !== '') ?? '') : '';
}

function periodStart(p: unknown): string | undefined {
  const period = p as Period | undefined;
  return period?.start ?? period?.end;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The date the record is about (when it happened), or undefined when the record carries none. The
 * order of the choices follows each type's FHIR R4 definition of its clinically relevant time.
 */
export function clinicalDate(r: Record_): string | undefined {
  switch (r.resourceType) {
    case 'Encounter':
      return periodStart(r.period);
    case 'Procedure':
      return str(r.performedDateTime) ?? periodStart(r.performedPeriod) ?? str(r.performedString);
    case 'CarePlan':
    case 'CareTeam':
    case 'EpisodeOfCare':
      return periodStart(r.period) ?? str(r.created);
    case 'Goal':
      return str(r.startDate) ?? str(r.statusDate);
    case 'ServiceRequest':
      return str(r.occurrenceDateTime) ?? periodStart(r.occurrencePeriod) ?? str(r.authoredOn);
    case 'DiagnosticReport':
      return str(r.effectiveDateTime) ?? periodStart(r.effectivePeriod) ?? str(r.issued);
    case 'Condition':
      return str(r.onsetDateTime) ?? periodStart(r.onsetPeriod) ?? str(r.recordedDate);
    case 'AllergyIntolerance':
      return str(r.onsetDateTime) ?? str(r.recordedDate);
    case 'MedicationStatement':
      return str(r.effectiveDateTime) ?? periodStart(r.effectivePeriod) ?? str(r.dateAsserted);
    case 'Claim':
    case 'ExplanationOfBenefit':
      return periodStart(r.billablePeriod) ?? str(r.created);
    default:
      return (
        str(r.effectiveDateTime) ??
        periodStart(r.effectivePeriod) ??
        str(r.issued) ??
        str(r.authoredOn) ??
        str(r.occurrenceDateTime) ??
        str(r.recordedDate) ??
        str(r.onsetDateTime) ??
        str(r.date) ??
        str(r.created)
      );
  }
}

const ENCOUNTER_CLASSES: Record<string, string> = {
  AMB: 'Outpatient visit',
  EMER: 'Emergency visit',
  IMP: 'Hospital stay',
  ACUTE: 'Hospital stay',
  NONAC: 'Hospital stay',
  OBSENC: 'Observation stay',
  PRENC: 'Pre-admission visit',
  SS: 'Short stay',
  HH: 'Home visit',
  VR: 'Video or phone visit',
  FLD: 'Field visit',
};

function encounterWhat(r: Record_): string {
  const cls = r.class as Coding | undefined;
  return (
    firstConcept(r.type) ||
    conceptWords(r.serviceType) ||
    (cls?.code === undefined ? '' : (cls.display ?? ENCOUNTER_CLASSES[cls.code] ?? '')) ||
    'Visit'
  );
}

function joined(...parts: (string | undefined)[]): string {
  return parts.filter((p) => p !== undefined && p !== '').join(' · ');
}

function displayOf(ref: unknown): string | undefined {
  return str((ref as { display?: unknown } | undefined)?.display);
}

/** What the record is and its details in words: never blank for a record that has a code or status. */
export function summarize(r: Record_): [what: string, details: string] {
  switch (r.resourceType) {
    case 'Encounter': {
      const period = r.period as Period | undefined;
      const reason = firstConcept(r.reasonCode);
      const where = (r.location as { location?: { display?: string } }[] | undefined)?.[0]?.location?.display;
      const provider = displayOf(r.serviceProvider);
      return [
        encounterWhat(r),
        joined(
          reason === '' ? undefined : `for ${reason}`,
          where ?? provider,
          period?.end !== undefined &&
            period.start !== undefined &&
            period.end.slice(0, 10) !== period.start.slice(0, 10)
            ? `until ${formatDate(period.end)}`
            : undefined,
          statusWords(r.resourceType, r.status),
        ),
      ];
    }
    case 'Procedure':
      return [
        conceptWords(r.code) || 'Procedure',
        joined(
          firstConcept(r.reasonCode) === '' ? undefined : `for ${firstConcept(r.reasonCode)}`,
          conceptWords(r.outcome),
          firstConcept(r.bodySite),
          statusWords(r.resourceType, r.status),
        ),
      ];
    case 'CarePlan': {
      const activities = ((r.activity ?? []) as { detail?: { code?: Concept } }[])
        .map((a) => conceptWords(a.detail?.code))
        .filter((t) => t !== '');
      return [
        str(r.title) ?? (firstConcept(r.category) || 'Care plan'),
        joined(
          str(r.description),
          firstConcept(r.addresses) === ''
            ? displayOf((r.addresses as unknown[] | undefined)?.[0])
            : undefined,
          activities.length === 0 ? undefined : activities.slice(0, 3).join(', '),
          joined(statusWords(r.resourceType, r.status), intentWords(r.intent)),
        ),
      ];
    }
    case 'CareTeam':
      return [
        str(r.name) ?? (firstConcept(r.category) || 'Care team'),
        statusWords(r.resourceType, r.status),
      ];
    case 'Goal':
      return [conceptWords(r.description) || 'Goal', statusWords(r.resourceType, r.lifecycleStatus)];
    case 'ServiceRequest':
      return [
        conceptWords(r.code) || 'Order',
        joined(statusWords(r.resourceType, r.status), intentWords(r.intent)),
      ];
    case 'DiagnosticReport':
      return [conceptWords(r.code) || 'Report', str(r.conclusion) ?? statusWords(r.resourceType, r.status)];
    default:
      return [
        conceptWords(r.code) || conceptWords(r.type) || r.resourceType,
        statusWords(r.resourceType, r.status),
      ];
  }
}
