import type {
  AllergyIntolerance,
  Bundle,
  BundleEntry,
  CodeableConcept,
  Composition,
  CompositionSection,
  Condition,
  DiagnosticReport,
  Immunization,
  MedicationRequest,
  MedicationStatement,
  Observation,
  Organization,
  Patient,
  Procedure,
  Resource,
} from '@medplum/fhirtypes';
import { LEDGER_ADDRESS_SYSTEM } from '../../access/patient-ledger-address.js';

/** The member that authors (and signs) the summary: its name and its ledger address. */
export interface IpsAuthor {
  readonly name: string;
  /** The member's EVM ledger address (0x-prefixed, 20 bytes). */
  readonly address: string;
}

export interface CreateIpsDocumentInput {
  readonly patient: Patient;
  /**
   * Everything of the patient the caller may see (FhirRepository.everything, already filtered by the
   * access policy). The Patient itself may be among them; it is taken from `patient`.
   */
  readonly resources: readonly Resource[];
  readonly author: IpsAuthor;
  readonly now: () => Date;
  /** A fresh RFC 9562 UUID (lower-case, no `urn:uuid:` prefix) per call. */
  readonly uuid: () => string;
}

const LOINC = 'http://loinc.org';
const IPS = 'http://hl7.org/fhir/uv/ips/StructureDefinition';
const OBSERVATION_CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const XHTML = 'http://www.w3.org/1999/xhtml';

/**
 * IPS 1.1 sections (http://hl7.org/fhir/uv/ips/STU1.1/Structure-of-the-International-Patient-Summary.html).
 * `cap`: at most this many entries, most recent first. Problems, allergies and medications are what a
 * clinician must not miss, so their caps (100) are a guard against runaway records rather than a
 * selection; histories (immunizations, procedures) keep the 50 most recent; results and vital signs keep
 * the most recent of each code (older values of the same test are history, not the current picture),
 * at most 50 and 20.
 */
const SECTIONS = {
  problems: { code: '11450-4', display: 'Problem list - Reported', title: 'Problems', cap: 100 },
  allergies: {
    code: '48765-2',
    display: 'Allergies and adverse reactions Document',
    title: 'Allergies and Intolerances',
    cap: 100,
  },
  medications: {
    code: '10160-0',
    display: 'History of Medication use Narrative',
    title: 'Medication Summary',
    cap: 100,
  },
  immunizations: {
    code: '11369-6',
    display: 'History of Immunization Narrative',
    title: 'Immunizations',
    cap: 50,
  },
  results: {
    code: '30954-2',
    display: 'Relevant diagnostic tests/laboratory data Narrative',
    title: 'Results',
    cap: 50,
  },
  vitalSigns: { code: '8716-3', display: 'Vital signs', title: 'Vital Signs', cap: 20 },
  procedures: {
    code: '47519-4',
    display: 'History of Procedures Document',
    title: 'History of Procedures',
    cap: 50,
  },
} as const;

type SectionKey = keyof typeof SECTIONS;

/** IPS: these three sections are required (Composition-uv-ips, section slices min 1). */
const REQUIRED: ReadonlySet<SectionKey> = new Set(['problems', 'allergies', 'medications']);

/**
 * Types a section entry may lead to (DiagnosticReport.result, Observation.hasMember, performers,
 * requesters, asserters): included when the caller may see them, so the document stays self-contained.
 * Anything else (Encounter, Claim, CarePlan, …) is outside an IPS and is cut from the references.
 */
const SUPPORTING_TYPES: ReadonlySet<string> = new Set([
  'Observation',
  'Practitioner',
  'PractitionerRole',
  'Organization',
  'Medication',
  'Device',
]);

/** Sensitivity labels of the access policy (README, "Who sees what") and v3 Confidentiality R/V. */
const RESTRICTED_LABELS: ReadonlySet<string> = new Set(['PSY', 'ETH', 'HIV', 'GDIS', 'SEX', 'R', 'V']);

/**
 * Builds an HL7 International Patient Summary document (IPS IG 1.1; FHIR R4 §3.3 Documents) from the
 * records the caller may see: a `document` Bundle whose first entry is the Composition, then the
 * Patient, the authoring Organization and the section entries with whatever they reference. Every entry
 * has a `urn:uuid:` fullUrl and every reference in the document points at one of them (R4 §3.3.1: a
 * document must be resolvable on its own); references to anything not included keep only their
 * display. Pure: no I/O, clock and UUIDs injected; the inputs are not modified.
 */
export function createIpsDocument(input: CreateIpsDocumentInput): Bundle {
  const { patient, author } = input;
  const timestamp = input.now().toISOString();
  const visible = new Map<string, Resource>();
  for (const resource of input.resources) {
    if (resource.id !== undefined) visible.set(`${resource.resourceType}/${resource.id}`, resource);
  }
  const patientKey = `Patient/${patient.id}`;
  visible.delete(patientKey);

  const candidates: Record<SectionKey, Resource[]> = {
    problems: select(input.resources, 'Condition', isCurrentCondition),
    allergies: select(input.resources, 'AllergyIntolerance', isCurrentAllergy),
    medications: [
      ...select(input.resources, 'MedicationStatement', isCurrentMedicationStatement),
      ...select(input.resources, 'MedicationRequest', isCurrentMedicationRequest),
    ],
    immunizations: select(input.resources, 'Immunization', isGivenImmunization),
    results: latestPerCode([
      ...select(input.resources, 'Observation', (o) => isResultObservation(o, 'laboratory')),
      ...select(input.resources, 'DiagnosticReport', isReportedResult),
    ]),
    vitalSigns: latestPerCode(
      select(input.resources, 'Observation', (o) => isResultObservation(o, 'vital-signs')),
    ),
    procedures: select(input.resources, 'Procedure', isPerformedProcedure),
  };
  const sectionKeys = Object.keys(SECTIONS) as SectionKey[];
  const selected = Object.fromEntries(
    sectionKeys.map((key) => [key, [...candidates[key]].sort(byDateDescending).slice(0, SECTIONS[key].cap)]),
  ) as Record<SectionKey, Resource[]>;

  // The entries in document order, then whatever they reference among the supporting types.
  const included = new Map<string, Resource>();
  for (const key of sectionKeys) {
    for (const resource of selected[key]) included.set(`${resource.resourceType}/${resource.id}`, resource);
  }
  const queue: Resource[] = [patient, ...included.values()];
  while (queue.length > 0) {
    const resource = queue.shift() as Resource;
    for (const reference of references(resource)) {
      const target = visible.get(stripHistory(reference));
      if (target === undefined || !SUPPORTING_TYPES.has(target.resourceType)) continue;
      const key = `${target.resourceType}/${target.id}`;
      if (included.has(key)) continue;
      included.set(key, target);
      queue.push(target);
    }
  }

  const compositionUrl = `urn:uuid:${input.uuid()}`;
  const patientUrl = `urn:uuid:${input.uuid()}`;
  const organizationId = input.uuid();
  const organizationUrl = `urn:uuid:${organizationId}`;
  const fullUrls = new Map<string, string>([[patientKey, patientUrl]]);
  for (const key of included.keys()) fullUrls.set(key, `urn:uuid:${input.uuid()}`);
  const urlOf = (resource: Resource) => fullUrls.get(`${resource.resourceType}/${resource.id}`) as string;

  const organization: Organization = {
    resourceType: 'Organization',
    id: organizationId,
    identifier: [{ system: LEDGER_ADDRESS_SYSTEM, value: author.address }],
    active: true,
    name: author.name,
  };

  const sections: CompositionSection[] = [];
  for (const key of sectionKeys) {
    const entries = selected[key];
    if (entries.length === 0 && !REQUIRED.has(key)) continue;
    sections.push(createSection(key, entries, candidates[key].length, urlOf));
  }

  const confidential = [patient, ...included.values()].some((r) =>
    (r.meta?.security ?? []).some((label) => label.code !== undefined && RESTRICTED_LABELS.has(label.code)),
  );
  const composition: Composition = {
    resourceType: 'Composition',
    id: compositionUrl.slice('urn:uuid:'.length),
    meta: { profile: [`${IPS}/Composition-uv-ips`] },
    status: 'final',
    type: { coding: [{ system: LOINC, code: '60591-5', display: 'Patient summary Document' }] },
    subject: { reference: patientUrl },
    date: timestamp,
    author: [{ reference: organizationUrl, display: author.name }],
    title: 'International Patient Summary',
    // v3 Confidentiality (http://terminology.hl7.org/CodeSystem/v3-Confidentiality): R when any entry
    // carries a sensitivity label, so a receiver handles the whole document with the same care.
    confidentiality: confidential ? 'R' : 'N',
    custodian: { reference: organizationUrl, display: author.name },
    section: sections,
  };

  const rewrite = (resource: Resource): Resource => rewriteReferences(resource, fullUrls);
  const entry: BundleEntry[] = [
    { fullUrl: compositionUrl, resource: composition },
    { fullUrl: patientUrl, resource: rewrite(patient) },
    { fullUrl: organizationUrl, resource: organization },
    ...[...included.values()].map((resource) => ({ fullUrl: urlOf(resource), resource: rewrite(resource) })),
  ];
  return {
    resourceType: 'Bundle',
    meta: { profile: [`${IPS}/Bundle-uv-ips`] },
    // R4 bdl-9 and bdl-10: a document has an identifier (system and value) and a timestamp.
    identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${input.uuid()}` },
    type: 'document',
    timestamp,
    entry,
  };
}

function createSection(
  key: SectionKey,
  entries: readonly Resource[],
  available: number,
  urlOf: (resource: Resource) => string,
): CompositionSection {
  const { code, display, title } = SECTIONS[key];
  const section: CompositionSection = {
    title,
    code: { coding: [{ system: LOINC, code, display }] },
  };
  if (entries.length === 0) {
    // list-empty-reason "unavailable", not "nilknown": the summary is built from this member's records
    // that the caller may see, so an empty list says nothing about the patient. "nilknown" would assert
    // that the author knows of no items (a clinician reads "no known allergies"), which we cannot know,
    // and "withheld" would reveal that the access policy hid something (decision record 0005: refusals
    // must not be observable). A recorded "no known allergy" is an entry, so the section is not empty.
    return {
      ...section,
      text: {
        status: 'generated',
        div: `<div xmlns="${XHTML}"><p>No information about ${escapeXml(title.toLowerCase())} is available.</p></div>`,
      },
      emptyReason: {
        coding: [
          {
            system: 'http://terminology.hl7.org/CodeSystem/list-empty-reason',
            code: 'unavailable',
            display: 'Unavailable',
          },
        ],
      },
    };
  }
  const rows = entries.map((resource) => `<li>${describe(resource)}</li>`).join('');
  const more =
    available > entries.length ? `<p>The ${entries.length} most recent of ${available} are listed.</p>` : '';
  return {
    ...section,
    text: { status: 'generated', div: `<div xmlns="${XHTML}"><ul>${rows}</ul>${more}</div>` },
    entry: entries.map((resource) => ({ reference: urlOf(resource) })),
  };
}

function select<K extends Resource['resourceType']>(
  resources: readonly Resource[],
  type: K,
  keep: (resource: Extract<Resource, { resourceType: K }>) => boolean,
): Extract<Resource, { resourceType: K }>[] {
  return resources.filter(
    (r): r is Extract<Resource, { resourceType: K }> =>
      r.resourceType === type && r.id !== undefined && keep(r as Extract<Resource, { resourceType: K }>),
  );
}

function code(concept: CodeableConcept | undefined, system: string): string | undefined {
  return concept?.coding?.find((c) => c.system === system)?.code;
}

const CONDITION_CLINICAL = 'http://terminology.hl7.org/CodeSystem/condition-clinical';
const CONDITION_VERIFICATION = 'http://terminology.hl7.org/CodeSystem/condition-ver-status';
const ALLERGY_CLINICAL = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical';
const ALLERGY_VERIFICATION = 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification';

/** IPS problems: current problems (active, recurrence, relapse), not refuted or entered in error. */
function isCurrentCondition(condition: Condition): boolean {
  const clinical = code(condition.clinicalStatus, CONDITION_CLINICAL);
  const verification = code(condition.verificationStatus, CONDITION_VERIFICATION);
  return (
    (clinical === 'active' || clinical === 'recurrence' || clinical === 'relapse') &&
    verification !== 'refuted' &&
    verification !== 'entered-in-error'
  );
}

/** Allergies: active, or no clinical status (R4 ait-1 allows none only when entered in error). */
function isCurrentAllergy(allergy: AllergyIntolerance): boolean {
  const clinical = code(allergy.clinicalStatus, ALLERGY_CLINICAL);
  const verification = code(allergy.verificationStatus, ALLERGY_VERIFICATION);
  return (
    (clinical === undefined || clinical === 'active') &&
    verification !== 'refuted' &&
    verification !== 'entered-in-error'
  );
}

function isCurrentMedicationStatement(statement: MedicationStatement): boolean {
  return statement.status === 'active' || statement.status === 'intended' || statement.status === 'on-hold';
}

function isCurrentMedicationRequest(request: MedicationRequest): boolean {
  return request.status === 'active' || request.status === 'on-hold';
}

function isGivenImmunization(immunization: Immunization): boolean {
  return immunization.status === 'completed';
}

function isPerformedProcedure(procedure: Procedure): boolean {
  return procedure.status === 'completed' || procedure.status === 'in-progress';
}

const REPORTED: ReadonlySet<string> = new Set(['final', 'amended', 'corrected', 'preliminary']);

function isResultObservation(observation: Observation, category: string): boolean {
  return (
    REPORTED.has(observation.status) &&
    (observation.category ?? []).some((c) => code(c, OBSERVATION_CATEGORY) === category)
  );
}

function isReportedResult(report: DiagnosticReport): boolean {
  return REPORTED.has(report.status) || report.status === 'appended' || report.status === 'partial';
}

/** The most recent resource of each code (first coding's system|code, else the text). */
function latestPerCode(resources: readonly (Observation | DiagnosticReport)[]): Resource[] {
  const latest = new Map<string, Observation | DiagnosticReport>();
  for (const resource of [...resources].sort(byDateDescending)) {
    const coding = resource.code.coding?.[0];
    const key = `${resource.resourceType}|${coding === undefined ? (resource.code.text ?? resource.id) : `${coding.system}|${coding.code}`}`;
    if (!latest.has(key)) latest.set(key, resource);
  }
  return [...latest.values()];
}

/** The clinically relevant date of an entry, for ordering (most recent first). */
function clinicalDate(resource: Resource): string | undefined {
  switch (resource.resourceType) {
    case 'Condition':
      return resource.onsetDateTime ?? resource.onsetPeriod?.start ?? resource.recordedDate;
    case 'AllergyIntolerance':
      return resource.onsetDateTime ?? resource.onsetPeriod?.start ?? resource.recordedDate;
    case 'MedicationStatement':
      return resource.effectiveDateTime ?? resource.effectivePeriod?.start ?? resource.dateAsserted;
    case 'MedicationRequest':
      return resource.authoredOn;
    case 'Immunization':
      return resource.occurrenceDateTime ?? resource.recorded;
    case 'Observation':
    case 'DiagnosticReport':
      return resource.effectiveDateTime ?? resource.effectivePeriod?.start ?? resource.issued;
    case 'Procedure':
      return resource.performedDateTime ?? resource.performedPeriod?.start;
    default:
      return undefined;
  }
}

function byDateDescending(a: Resource, b: Resource): number {
  const time = (r: Resource) => {
    const date = clinicalDate(r);
    const parsed = date === undefined ? Number.NaN : Date.parse(date);
    return Number.isNaN(parsed) ? Number.NEGATIVE_INFINITY : parsed;
  };
  const difference = time(b) - time(a);
  if (difference !== 0 && !Number.isNaN(difference)) return difference;
  return (a.id ?? '').localeCompare(b.id ?? '');
}

function conceptText(concept: CodeableConcept | undefined): string {
  return (
    concept?.text ??
    concept?.coding?.find((c) => c.display !== undefined)?.display ??
    concept?.coding?.[0]?.code ??
    'Unnamed'
  );
}

function valueText(value: Observation | NonNullable<Observation['component']>[number]): string | undefined {
  if (value.valueQuantity !== undefined) {
    const { value: amount, unit, code: ucum } = value.valueQuantity;
    return [amount, unit ?? ucum].filter((part) => part !== undefined).join(' ');
  }
  if (value.valueCodeableConcept !== undefined) return conceptText(value.valueCodeableConcept);
  if (value.valueString !== undefined) return value.valueString;
  if (value.valueBoolean !== undefined) return String(value.valueBoolean);
  if (value.valueInteger !== undefined) return String(value.valueInteger);
  return undefined;
}

/** One narrative line: every value from the record is escaped (R4 §2.4 narrative is XHTML). */
function describe(resource: Resource): string {
  const date = clinicalDate(resource);
  const parts: string[] = [];
  switch (resource.resourceType) {
    case 'Condition':
    case 'AllergyIntolerance':
    case 'Procedure':
      parts.push(conceptText(resource.code));
      break;
    case 'Immunization':
      parts.push(conceptText(resource.vaccineCode));
      break;
    case 'MedicationStatement':
    case 'MedicationRequest': {
      parts.push(
        resource.medicationCodeableConcept !== undefined
          ? conceptText(resource.medicationCodeableConcept)
          : (resource.medicationReference?.display ?? 'Medication'),
      );
      const dosage =
        resource.resourceType === 'MedicationStatement' ? resource.dosage : resource.dosageInstruction;
      const instruction = dosage?.[0]?.text;
      if (instruction !== undefined) parts.push(instruction);
      break;
    }
    case 'Observation': {
      parts.push(conceptText(resource.code));
      const value =
        valueText(resource) ??
        resource.component?.map((c) => `${conceptText(c.code)} ${valueText(c) ?? ''}`.trim()).join('; ');
      if (value !== undefined && value !== '') parts.push(value);
      break;
    }
    case 'DiagnosticReport':
      parts.push(conceptText(resource.code));
      if (resource.conclusion !== undefined) parts.push(resource.conclusion);
      break;
    default:
      parts.push(resource.resourceType);
  }
  const status =
    resource.resourceType === 'Condition' || resource.resourceType === 'AllergyIntolerance'
      ? code(
          resource.clinicalStatus,
          resource.resourceType === 'Condition' ? CONDITION_CLINICAL : ALLERGY_CLINICAL,
        )
      : (resource as { status?: string }).status;
  if (status !== undefined) parts.push(status);
  if (date !== undefined) parts.push(date);
  return parts.map(escapeXml).join(' — ');
}

/** XML 1.0 §2.4 character data: the five predefined entities, so record text can never become markup. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) =>
    c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;',
  );
}

/** `Type/id/_history/3` → `Type/id`. */
function stripHistory(reference: string): string {
  return reference.replace(/\/_history\/[^/]+$/, '');
}

/** Every `reference` string anywhere in a resource (contained resources and extensions included). */
function references(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(references);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key === 'reference' && typeof child === 'string' ? [child] : references(child),
  );
}

/**
 * A copy with every reference to an included resource pointing at its fullUrl. Any other reference
 * (to a resource outside the summary, hidden from the caller, or on another server) cannot be resolved
 * in the document, so it is cut, keeping the Reference's display and identifier; a Reference left with
 * nothing says what it was, so that it stays a valid element (R4 ele-1). Contained (`#id`) stay.
 */
function rewriteReferences(resource: Resource, fullUrls: ReadonlyMap<string, string>): Resource {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value !== 'object' || value === null) return value;
    const object = value as Record<string, unknown>;
    const copy: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(object)) copy[key] = key === 'reference' ? child : walk(child);
    const reference = object.reference;
    if (typeof reference !== 'string' || reference.startsWith('#')) return copy;
    const target = fullUrls.get(stripHistory(reference));
    if (target !== undefined) {
      copy.reference = target;
      return copy;
    }
    delete copy.reference;
    const type = /^([A-Z][A-Za-z]+)\//.exec(reference)?.[1];
    if (copy.display === undefined && copy.identifier === undefined)
      copy.display = `${type ?? 'Resource'} not included in this summary`;
    return copy;
  };
  return walk(resource) as Resource;
}
