/**
 * A clinician's corrections to a chart entry (issue 22): mark it entered in error, or amend it, always
 * with a reason. Either is a new version of the same record (an update through the vault: access
 * checked, audited, in the transparency log), so the record's `_history` keeps what it said before; the
 * new version carries a `correction` extension naming who corrected it, when, how and why. Pure functions.
 */
/** A FHIR resource as the chart holds it (kept here: this module is also type-checked outside the browser). */
export interface Resource {
  readonly resourceType: string;
  readonly id?: string;
  readonly [field: string]: unknown;
}

export const CORRECTION_EXTENSION = 'https://careledger.dev/fhir/StructureDefinition/correction';

type Res = Resource & Record<string, unknown>;

/** Types whose entered-in-error is `status` (R4 value sets of each type include the code). */
const STATUS_TYPES = new Set([
  'Observation',
  'DiagnosticReport',
  'MedicationRequest',
  'MedicationStatement',
  'MedicationAdministration',
  'MedicationDispense',
  'Immunization',
  'Procedure',
  'Encounter',
  'CarePlan',
  'DocumentReference',
  'Appointment',
]);

/** Types whose entered-in-error is `verificationStatus`: [type, code system]. */
const VERIFICATION_TYPES: Readonly<Record<string, string>> = {
  Condition: 'http://terminology.hl7.org/CodeSystem/condition-ver-status',
  AllergyIntolerance: 'http://terminology.hl7.org/CodeSystem/allergyintolerance-verification',
};

export function canMarkEnteredInError(resource: Resource): boolean {
  return STATUS_TYPES.has(resource.resourceType) || resource.resourceType in VERIFICATION_TYPES;
}

export function isEnteredInError(resource: Resource): boolean {
  const r = resource as Res;
  if (r.status === 'entered-in-error') return true;
  const verification = r.verificationStatus as { coding?: { code?: string }[] } | undefined;
  return verification?.coding?.some((c) => c.code === 'entered-in-error') === true;
}

/** What an amendment may change, per type: one field a clinician corrects from the chart. */
export type AmendKind = 'value' | 'dosage' | 'note-text' | 'clinical-status';

export function amendKind(resource: Resource): AmendKind | undefined {
  const r = resource as Res;
  if (r.resourceType === 'Observation' && typeof (r.valueQuantity as { value?: unknown })?.value === 'number')
    return 'value';
  if (r.resourceType === 'MedicationRequest') return 'dosage';
  if (r.resourceType === 'DocumentReference') return 'note-text';
  if (r.resourceType === 'Condition') return 'clinical-status';
  return undefined;
}

export interface CorrectionBy {
  readonly kind: 'entered-in-error' | 'amended';
  readonly reason: string;
  /** The clinician, `Practitioner/…`. */
  readonly author: string;
  readonly at: Date;
}

function correctionExtension(by: CorrectionBy) {
  return {
    url: CORRECTION_EXTENSION,
    extension: [
      { url: 'kind', valueCode: by.kind },
      { url: 'reason', valueString: by.reason.trim() },
      { url: 'author', valueReference: { reference: by.author } },
      { url: 'date', valueDateTime: by.at.toISOString() },
    ],
  };
}

/** The record with its correction noted; `meta` stays for the server's version check. */
function noted(r: Res, by: CorrectionBy): Res {
  return { ...r, extension: [...((r.extension as unknown[]) ?? []), correctionExtension(by)] };
}

/** The next version of the record, marked entered in error. */
export function markEnteredInError(resource: Resource, by: Omit<CorrectionBy, 'kind'>): Resource {
  const r = resource as Res;
  const full = { ...by, kind: 'entered-in-error' as const };
  const system = VERIFICATION_TYPES[r.resourceType];
  if (system !== undefined) {
    // R4 con-5 / ait-2: no clinicalStatus on an entry verified as entered in error.
    const { clinicalStatus: _, ...rest } = r;
    return noted(
      { ...rest, verificationStatus: { coding: [{ system, code: 'entered-in-error' }] } } as Res,
      full,
    );
  }
  if (!STATUS_TYPES.has(r.resourceType))
    throw new Error(`a ${r.resourceType} cannot be marked entered in error from the chart`);
  return noted({ ...r, status: 'entered-in-error' }, full);
}

/** base64 of UTF-8 text (browser and Node). */
function base64Utf8(text: string): string {
  let binary = '';
  for (const b of new TextEncoder().encode(text)) binary += String.fromCharCode(b);
  return btoa(binary);
}

/** The next version of the record with its one amendable field changed (see {@link amendKind}). */
export function amendRecord(resource: Resource, value: string, by: Omit<CorrectionBy, 'kind'>): Resource {
  const r = resource as Res;
  const full = { ...by, kind: 'amended' as const };
  switch (amendKind(resource)) {
    case 'value': {
      const quantity = r.valueQuantity as Record<string, unknown>;
      return noted({ ...r, valueQuantity: { ...quantity, value: Number(value) } }, full);
    }
    case 'dosage':
      return noted({ ...r, dosageInstruction: [{ text: value.trim() }] }, full);
    case 'note-text': {
      const content = (r.content as { attachment?: Record<string, unknown> }[] | undefined) ?? [];
      const first = content[0]?.attachment ?? {};
      const attachment = { ...first, contentType: 'text/plain; charset=utf-8', data: base64Utf8(value) };
      return noted({ ...r, content: [{ ...content[0], attachment }, ...content.slice(1)] }, full);
    }
    case 'clinical-status':
      return noted(
        {
          ...r,
          clinicalStatus: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: value }],
          },
        },
        full,
      );
    default:
      throw new Error(`a ${r.resourceType} cannot be amended from the chart`);
  }
}

/** The current value of the amendable field, to prefill the form. */
export function amendableValue(resource: Resource): string {
  const r = resource as Res;
  switch (amendKind(resource)) {
    case 'value':
      return String((r.valueQuantity as { value?: number }).value ?? '');
    case 'dosage':
      return (r.dosageInstruction as { text?: string }[] | undefined)?.[0]?.text ?? '';
    case 'note-text': {
      const data = (r.content as { attachment?: { data?: string } }[] | undefined)?.[0]?.attachment?.data;
      if (data === undefined) return '';
      try {
        return new TextDecoder().decode(Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
      } catch {
        return '';
      }
    }
    case 'clinical-status':
      return (
        (r.clinicalStatus as { coding?: { code?: string }[] } | undefined)?.coding?.[0]?.code ?? 'active'
      );
    default:
      return '';
  }
}

/** The reason a clinician gives: 10 to 1000 characters, so the history says something. */
export function checkCorrectionReason(reason: string): string | undefined {
  const text = reason.trim();
  if (text.length < 10) return 'Give the reason in at least 10 characters.';
  if (text.length > 1000) return 'Keep the reason under 1000 characters.';
  return undefined;
}
