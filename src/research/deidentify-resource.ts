/**
 * Applies a de-identification profile to one FHIR R4 resource and returns a new resource; the
 * input is not modified. Node types are recognised structurally (see {@link typeOfNode}); the
 * first rule that selects a node decides it (deid-profile.ts).
 */
import { CareLedgerError } from '../errors/index.js';
import {
  type DeidMethod,
  type DeidNode,
  type DeidProfile,
  evaluateDeidRule,
  type NodeType,
} from './deid-profile.js';
import { SAFE_HARBOR_RESTRICTED_ZIP3 } from './safe-harbor-profile.js';
import {
  createIdentifierPseudonym,
  createResourcePseudonym,
  createValuePseudonym,
  PSEUDONYM_IDENTIFIER_SYSTEM,
  verifyStudyKey,
} from './study-pseudonym.js';

export interface DeidentifyOptions {
  readonly studyKey: Uint8Array;
  /** Required when the profile uses dateShift; see derivePatientShiftDays. */
  readonly patientShiftDays?: number;
  /** The date ages are computed at (injected clock); defaults to now. */
  readonly asOf?: Date;
}

export type FhirResource = { readonly resourceType: string } & Record<string, unknown>;

export const AGE_GROUP_EXTENSION_URL = 'https://careledger.dev/fhir/StructureDefinition/research-age-group';
const DATA_ABSENT_REASON_URL = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason';

const REMOVE: unique symbol = Symbol('remove');
const AGE_90_PLUS: unique symbol = Symbol('age-90-plus');
type Outcome = unknown | typeof REMOVE | typeof AGE_90_PLUS;

// FHIR R4 §2.24.0.1 primitive types date, dateTime and instant.
const DATE_PATTERN = /^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$/;
const DATE_TIME_PATTERN =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const NOT_DATES = new Set(['code', 'version', 'id', 'value', 'system', 'url', 'reference']);
const UCUM = 'http://unitsofmeasure.org';
/**
 * String elements that are free text wherever they occur, at any depth: CodeableConcept.text,
 * Dosage.text, HumanName.text, Annotation.text, CarePlan.activity.detail.description,
 * QuestionnaireResponse.item.answer.valueString, MedicationRequest.dosageInstruction.patientInstruction...
 */
const FREE_TEXT_ELEMENTS = new Set([
  'text',
  'description',
  'comment',
  'comments',
  'valueString',
  'valueMarkdown',
  'patientInstruction',
]);

interface Context {
  readonly profile: DeidProfile;
  readonly options: DeidentifyOptions;
  readonly resourceType: string;
  readonly asOf: Date;
}

export function deidentifyResource(
  resource: FhirResource,
  profile: DeidProfile,
  options: DeidentifyOptions,
): FhirResource {
  verifyStudyKey(options.studyKey);
  if (typeof resource?.resourceType !== 'string') {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'resource has no resourceType');
  }
  const context: Context = {
    profile,
    options,
    resourceType: resource.resourceType,
    asOf: options.asOf ?? new Date(),
  };
  const result = walkObject(resource, [], context) ?? {};
  return { ...result, resourceType: resource.resourceType } as FhirResource;
}

function walkObject(
  object: Record<string, unknown>,
  elements: readonly string[],
  context: Context,
): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    if (elements.length === 0 && key === 'resourceType') continue;
    // Primitive extensions (`_birthDate`) go with their element: kept only if the element is.
    if (key.startsWith('_')) continue;
    const path = [...elements, key];
    if (elements.length === 0 && key === 'contained' && Array.isArray(value)) {
      const contained = value.flatMap((item) => walkContained(item, context));
      if (contained.length > 0) out[key] = contained;
      continue;
    }
    if (Array.isArray(value)) {
      const items = value
        .map((item) => walkValue(key, item, object, path, context))
        .filter((item) => item !== REMOVE && item !== AGE_90_PLUS);
      if (items.length > 0) out[key] = items;
      continue;
    }
    const result = walkValue(key, value, object, path, context);
    if (result === AGE_90_PLUS) {
      out[`_${key}`] = {
        extension: [
          { url: DATA_ABSENT_REASON_URL, valueCode: 'masked' },
          { url: AGE_GROUP_EXTENSION_URL, valueString: '90+' },
        ],
      };
    } else if (result !== REMOVE) {
      out[key] = result;
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * A contained resource (FHIR R4 §2.4.1.3) is de-identified as a resource of its own type, so its
 * element rules apply; its local id is kept, since `#id` references name only the container's parts.
 */
function walkContained(item: unknown, context: Context): Record<string, unknown>[] {
  if (typeof item !== 'object' || item === null) return [];
  const resource = item as Record<string, unknown>;
  if (typeof resource.resourceType !== 'string') return [];
  const walked = walkObject(resource, [], { ...context, resourceType: resource.resourceType }) ?? {};
  const { id: _hashed, ...rest } = walked;
  return [
    {
      resourceType: resource.resourceType,
      ...(typeof resource.id === 'string' ? { id: resource.id } : {}),
      ...rest,
    },
  ];
}

function walkValue(
  key: string,
  value: unknown,
  parent: Record<string, unknown>,
  elements: readonly string[],
  context: Context,
): Outcome {
  const type = typeOfNode(key, value, parent, elements.length === 1);
  const node: DeidNode = { resourceType: context.resourceType, elements, type };
  let method: DeidMethod | undefined = evaluateDeidRule(context.profile, node)?.method;
  if (type === 'Extension' && isKeptExtension(value, elements, context.profile)) method = 'keep';
  if (method !== undefined && method !== 'keep') return apply(method, key, value, type, context);
  if (typeof value === 'object' && value !== null) {
    return walkObject(value as Record<string, unknown>, elements, context) ?? REMOVE;
  }
  return value;
}

/**
 * An extension listed in keepExtensions, or a sub-extension (relative url, FHIR R4 §2.17.1) of one:
 * a sub-extension is only reached when its parent extension was kept.
 */
function isKeptExtension(value: unknown, elements: readonly string[], profile: DeidProfile): boolean {
  const url = (value as { url?: unknown }).url;
  if (typeof url !== 'string') return false;
  if (profile.keepExtensions.includes(url)) return true;
  return !url.includes(':') && elements.slice(0, -1).includes('extension');
}

/** Recognises the data type of a node from its element name and shape; undefined when not one of NODE_TYPES. */
export function typeOfNode(
  key: string,
  value: unknown,
  parent: Record<string, unknown>,
  atRoot: boolean,
): NodeType | undefined {
  if (typeof value === 'string') {
    if (key === 'id') return atRoot ? 'id' : undefined;
    if (key === 'display') {
      const codedBySystem = typeof parent.system === 'string' && typeof parent.code === 'string';
      return codedBySystem ? undefined : 'FreeText';
    }
    if (FREE_TEXT_ELEMENTS.has(key)) return 'FreeText';
    if (NOT_DATES.has(key)) return undefined;
    if (DATE_PATTERN.test(value)) return 'date';
    if (DATE_TIME_PATTERN.test(value))
      return key === 'instant' || key === 'lastUpdated' ? 'instant' : 'dateTime';
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const object = value as Record<string, unknown>;
  if (key === 'extension' || key === 'modifierExtension') return 'Extension';
  if (key === 'text' && 'div' in object) return 'Narrative';
  if (key === 'name' || key === 'valueHumanName') return 'HumanName';
  if (key === 'address' || key === 'valueAddress') return 'Address';
  if (key === 'telecom' || key === 'valueContactPoint') return 'ContactPoint';
  if (key === 'identifier' || key === 'valueIdentifier') return 'Identifier';
  if (key === 'note' || key === 'valueAnnotation') return 'Annotation';
  if (['photo', 'attachment', 'presentedForm', 'valueAttachment'].includes(key)) return 'Attachment';
  if (typeof object.contentType === 'string' && ('data' in object || 'url' in object)) return 'Attachment';
  if (typeof object.reference === 'string') return 'Reference';
  if (
    key.endsWith('Age') ||
    (object.system === UCUM && object.code === 'a' && typeof object.value === 'number')
  ) {
    return 'Age';
  }
  return undefined;
}

function apply(
  method: DeidMethod,
  key: string,
  value: unknown,
  type: NodeType | undefined,
  context: Context,
): Outcome {
  switch (method) {
    case 'redact':
      return REMOVE;
    case 'keepYear':
      return typeof value === 'string' && /^\d{4}/.test(value) ? value.slice(0, 4) : REMOVE;
    case 'dateShift':
      return typeof value === 'string' ? shiftDate(value, context) : REMOVE;
    case 'cryptoHash':
      return hash(value, type, context.options.studyKey);
    case 'generalize':
      return generalize(key, value, type, context);
    case 'keep':
      return value;
  }
}

function hash(value: unknown, type: NodeType | undefined, studyKey: Uint8Array): Outcome {
  if (type === 'id' && typeof value === 'string') return createResourcePseudonym(studyKey, value);
  if (typeof value === 'string') return createValuePseudonym(studyKey, value);
  if (typeof value !== 'object' || value === null) return REMOVE;
  const object = value as Record<string, unknown>;
  if (type === 'Identifier') {
    if (typeof object.value !== 'string') return REMOVE;
    const system = typeof object.system === 'string' ? object.system : '';
    const typeCoding = (object.type as { coding?: unknown } | undefined)?.coding;
    return {
      ...(Array.isArray(typeCoding) ? { type: { coding: typeCoding } } : {}),
      system: PSEUDONYM_IDENTIFIER_SYSTEM,
      value: createIdentifierPseudonym(studyKey, system, object.value),
    };
  }
  if (type === 'Reference') {
    const reference = rewriteReference(String(object.reference), studyKey);
    return typeof object.type === 'string' ? { reference, type: object.type } : { reference };
  }
  return REMOVE;
}

/** Rewrites a reference to the pseudonym of its target id, so references still resolve in the release. */
export function rewriteReference(reference: string, studyKey: Uint8Array): string {
  if (reference.startsWith('#')) return reference;
  if (reference.startsWith('urn:uuid:')) {
    return `urn:uuid:${createResourcePseudonym(studyKey, reference.slice('urn:uuid:'.length))}`;
  }
  const parts = reference.split('/');
  const historyAt = parts.indexOf('_history');
  const relevant = historyAt >= 0 ? parts.slice(0, historyAt) : parts;
  const id = relevant[relevant.length - 1];
  const resourceType = relevant[relevant.length - 2];
  if (id !== undefined && resourceType !== undefined && /^[A-Z][A-Za-z]+$/.test(resourceType)) {
    return `${resourceType}/${createResourcePseudonym(studyKey, id)}`;
  }
  return `urn:uuid:${createResourcePseudonym(studyKey, reference)}`;
}

function generalize(key: string, value: unknown, type: NodeType | undefined, context: Context): Outcome {
  if (type === 'Address' && typeof value === 'object' && value !== null) return generalizeAddress(value);
  if (key === 'postalCode' && typeof value === 'string') return generalizePostalCode(value) ?? REMOVE;
  if ((type === 'date' || type === 'dateTime') && typeof value === 'string') {
    if (key === 'birthDate' && ageInYears(value, context.asOf) > 89) return AGE_90_PLUS;
    return value.slice(0, 4);
  }
  if (type === 'Age' && typeof value === 'object' && value !== null) {
    const age = value as Record<string, unknown>;
    if (typeof age.value !== 'number') return REMOVE;
    // 164.514(b)(2)(i)(C): ages over 89 aggregated into a single category of 90 or older.
    return age.value > 89 ? { ...age, value: 90, comparator: '>=' } : age;
  }
  // No generalisation defined for this node: remove it rather than let it through.
  return REMOVE;
}

function generalizeAddress(value: object): Outcome {
  const address = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const field of ['use', 'type', 'state', 'country'] as const) {
    if (typeof address[field] === 'string') out[field] = address[field];
  }
  const zip3 = typeof address.postalCode === 'string' ? generalizePostalCode(address.postalCode) : undefined;
  if (zip3 !== undefined) out.postalCode = zip3;
  return Object.keys(out).length > 0 ? out : REMOVE;
}

/** 164.514(b)(2)(i)(B): the initial three digits of a ZIP code, or 000 in a restricted zone. */
export function generalizePostalCode(postalCode: string): string | undefined {
  const match = /^(\d{3})\d{2}(-?\d{4})?$/.exec(postalCode.trim());
  if (!match) return undefined;
  const zip3 = match[1] as string;
  return SAFE_HARBOR_RESTRICTED_ZIP3.includes(zip3) ? '000' : zip3;
}

export function ageInYears(birthDate: string, asOf: Date): number {
  const [year, month = 1, day = 1] = birthDate.slice(0, 10).split('-').map(Number) as [
    number,
    number?,
    number?,
  ];
  let age = asOf.getUTCFullYear() - year;
  const beforeBirthday =
    asOf.getUTCMonth() + 1 < month || (asOf.getUTCMonth() + 1 === month && asOf.getUTCDate() < day);
  if (beforeBirthday) age -= 1;
  return age;
}

function shiftDate(value: string, context: Context): Outcome {
  const days = context.options.patientShiftDays;
  if (days === undefined) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      'profile uses dateShift but no patientShiftDays was given',
    );
  }
  if (/^\d{4}$/.test(value)) return value;
  const dayMs = 86_400_000;
  if (/^\d{4}-\d{2}$/.test(value)) {
    return new Date(Date.parse(`${value}-15T00:00:00Z`) + days * dayMs).toISOString().slice(0, 7);
  }
  if (DATE_PATTERN.test(value)) {
    return new Date(Date.parse(`${value}T00:00:00Z`) + days * dayMs).toISOString().slice(0, 10);
  }
  const time = Date.parse(value);
  return Number.isNaN(time) ? REMOVE : new Date(time + days * dayMs).toISOString();
}
