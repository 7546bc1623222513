import { getDataType, type InternalSchemaElement, type InternalTypeSchema } from '@medplum/core';
import type { FhirIssue, IssueType } from './fhir-issue.js';
import type { FhirDefinitions } from './load-fhir-definitions.js';
import { narrativeFault } from './narrative-xhtml.js';

/**
 * The R4 rules that Medplum 4.5's `validateResource` does not check (see
 * docs/decisions/0004-fhir-validation.md): required bindings, calendar-valid dates, the R4 regexes of
 * primitives where Medplum's are laxer (dateTime without seconds or zone, `Resource.id`), 32-bit
 * integer ranges, Reference.reference syntax, the resourceType of contained resources, and the
 * narrative's XHTML (txt-1: no script, event attribute or script URL).
 * Structure, cardinality, JSON types and invariants are left to Medplum.
 */
export function checkResourceRules(
  resource: Record<string, unknown>,
  definitions: FhirDefinitions,
): FhirIssue[] {
  const issues: FhirIssue[] = [];
  const resourceType = resource.resourceType as string;
  const containedIds = new Set(
    (Array.isArray(resource.contained) ? resource.contained : []).flatMap((contained: unknown) =>
      isObject(contained) && typeof contained.id === 'string' ? [contained.id] : [],
    ),
  );
  new RuleWalker(definitions, issues, containedIds).walkResource(resource, resourceType, resourceType);
  return issues;
}

export const UNKNOWN_CONTAINED_TYPE = 'Unknown or missing resourceType of an inline resource';

type JsonObject = Record<string, unknown>;

interface ResolvedElement {
  readonly element: InternalSchemaElement;
  /** The FHIRPath name: the element name, without `[x]` for choice types. */
  readonly name: string;
  /** The type code when the JSON key fixes it (a choice type), else the element's only type. */
  readonly typeCode: string | undefined;
}

const PRIMITIVE_JSON_TYPES: Readonly<Record<string, 'string' | 'number' | 'boolean'>> = {
  base64Binary: 'string',
  boolean: 'boolean',
  canonical: 'string',
  code: 'string',
  date: 'string',
  dateTime: 'string',
  decimal: 'number',
  id: 'string',
  instant: 'string',
  integer: 'number',
  markdown: 'string',
  oid: 'string',
  positiveInt: 'number',
  string: 'string',
  time: 'string',
  unsignedInt: 'number',
  uri: 'string',
  url: 'string',
  uuid: 'string',
  xhtml: 'string',
  // Element.id, Extension.url and the like are typed with FHIRPath system types in R4.
  'http://hl7.org/fhirpath/System.String': 'string',
};

/** R4 §2.24.0.1 integer: "a signed integer in the range −2,147,483,648..2,147,483,647 (32-bit)". */
const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/** RFC 4648 §4 base64 with padding, linear time. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const BINDABLE_PRIMITIVES = new Set(['code', 'string', 'uri']);

const ID = '[A-Za-z0-9\\-.]{1,64}';
/** R4 §2.3.0 Resource references: `#id`, `Type/id[/_history/vid]`, `Type?query` (conditional, transactions). */
const LOCAL_REFERENCE = new RegExp(`^#(?:${ID})?$`);
const RELATIVE_REFERENCE = new RegExp(`^([A-Z][A-Za-z]+)/${ID}(?:/_history/${ID})?$`);
const CONDITIONAL_REFERENCE = /^([A-Z][A-Za-z]+)\?\S+$/;
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/;
/** An absolute RESTful reference: its last `Type/id[/_history/vid]` names the target type. */
const ABSOLUTE_RESTFUL_TYPE = new RegExp(`/([A-Z][A-Za-z]+)/${ID}(?:/_history/${ID})?$`);
const HL7_PROFILE = 'http://hl7.org/fhir/StructureDefinition/';
/** What an element name can look like (a JSON key may be anything; only these are echoed). */
const ELEMENT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonTypeOf(value: unknown): string {
  if (Array.isArray(value)) return 'array';
  if (value === null) return 'null';
  return typeof value;
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

const choiceIndexes = new WeakMap<InternalTypeSchema, Map<string, ResolvedElement>>();

/** Maps every JSON key of a schema (`valueQuantity`, `gender`) to its element and type. */
function indexOf(schema: InternalTypeSchema): Map<string, ResolvedElement> {
  let index = choiceIndexes.get(schema);
  if (index !== undefined) return index;
  index = new Map();
  for (const [key, element] of Object.entries(schema.elements)) {
    if (key.endsWith('[x]')) {
      const name = key.slice(0, -3);
      for (const type of element.type)
        index.set(name + capitalize(type.code), { element, name, typeCode: type.code });
    } else if (!key.includes('.')) {
      index.set(key, {
        element,
        name: key,
        typeCode: element.type.length === 1 ? element.type[0]?.code : undefined,
      });
    }
  }
  choiceIndexes.set(schema, index);
  return index;
}

function schemaOf(typeCode: string): InternalTypeSchema | undefined {
  try {
    return getDataType(typeCode);
  } catch {
    return undefined;
  }
}

class RuleWalker {
  constructor(
    private readonly definitions: FhirDefinitions,
    private readonly issues: FhirIssue[],
    /** Ids of the root resource's contained resources, the targets of `#id` references. */
    private readonly containedIds: ReadonlySet<string>,
  ) {}

  private report(code: IssueType, expression: string, diagnostics: string): void {
    this.issues.push({ severity: 'error', code, diagnostics, expression: [expression] });
  }

  walkResource(resource: JsonObject, resourceType: string, path: string): void {
    const schema = schemaOf(resourceType);
    if (schema !== undefined) this.walkObject(resource, schema, path, true);
  }

  private walkObject(
    object: JsonObject,
    schema: InternalTypeSchema,
    path: string,
    isResource: boolean,
  ): void {
    const index = indexOf(schema);
    const choiceKeys = new Map<string, string>();
    const keys = Object.keys(object);
    // R4 json.html §2.6.2 and ele-1: an element has a value or children other than `id`.
    if (!isResource && keys.every((key) => key === 'id' || object[key] === undefined)) {
      this.report('structure', path, 'Empty element: it needs a value or children other than id (ele-1)');
    }
    for (const key of keys) {
      if (key === 'resourceType' && isResource) continue;
      const value = object[key];
      // Not JSON: an object built in code may hold `undefined`, which serialisation leaves out.
      if (value === undefined) continue;
      const primitiveExtension = key.startsWith('_');
      const jsonName = primitiveExtension ? key.slice(1) : key;
      // A Map, not the schema's plain object: `toString`, `constructor`, `__proto__` are no elements.
      const resolved = index.get(jsonName);
      if (resolved === undefined) {
        this.reportUnknown(path, key);
        continue;
      }
      const elementPath = `${path}.${resolved.name}`;
      if (resolved.name !== jsonName) {
        // R4 formats.html#choice: one choice element has one type; `valueX` and `_valueX` must agree.
        const previous = choiceKeys.get(resolved.name);
        if (previous !== undefined && previous !== jsonName) {
          this.report(
            'structure',
            elementPath,
            `More than one type given for choice element ${resolved.name}[x]`,
          );
        }
        choiceKeys.set(resolved.name, jsonName);
      }
      if (resolved.typeCode === undefined) continue;
      const isPrimitive = PRIMITIVE_JSON_TYPES[resolved.typeCode] !== undefined;
      if (primitiveExtension && !isPrimitive) {
        // R4 json.html §2.6.2.1: only primitive elements carry their id and extensions in `_name`.
        this.reportUnknown(path, key);
        continue;
      }
      if (Array.isArray(value) && value.length === 0) {
        // R4 json.html §2.6.2: arrays are never empty; an absent element is left out.
        this.report('structure', elementPath, 'Empty array: leave the element out instead');
        continue;
      }
      const partner = object[primitiveExtension ? jsonName : `_${jsonName}`];
      if (Array.isArray(value) && Array.isArray(partner) && value.length !== partner.length) {
        // R4 json.html §2.6.2.1: the value and `_` arrays are aligned item by item, nulls filling gaps.
        this.report('structure', elementPath, `${key} and its partner array have different lengths`);
      }
      const values = Array.isArray(value) ? value : [value];
      values.forEach((item, i) => {
        const itemPath = Array.isArray(value) ? `${elementPath}[${i}]` : elementPath;
        if (item === null || item === undefined) {
          // R4 json.html §2.6.2.1: null only as a placeholder in an array of primitives whose partner
          // array has something at the same index.
          const held = Array.isArray(value) && isPrimitive && Array.isArray(partner) ? partner[i] : undefined;
          if (held === null || held === undefined)
            this.report('structure', itemPath, 'null is not allowed here');
          return;
        }
        if (primitiveExtension) {
          const elementSchema = schemaOf('Element');
          if (!isObject(item)) {
            this.report('structure', itemPath, 'A primitive extension (_element) must be a JSON object');
          } else if (elementSchema !== undefined) {
            const primitiveValue = Array.isArray(partner) ? partner[i] : partner;
            const hasValue = primitiveValue !== null && primitiveValue !== undefined;
            // With a value the `_` object may hold just an id; without one it needs an extension.
            if (hasValue && Object.keys(item).length === 0) {
              this.report('structure', itemPath, 'Empty element: it needs a value or children (ele-1)');
            } else if (hasValue) {
              this.walkPrimitiveExtension(item, elementSchema, itemPath);
            } else {
              this.walkObject(item, elementSchema, itemPath, false);
            }
          }
          return;
        }
        const typeCode = isResource && resolved.name === 'id' ? 'id' : resolved.typeCode;
        this.checkValue(item, typeCode as string, resolved.element, itemPath);
      });
    }
  }

  /** The `_name` object of a primitive that has a value: `id` alone satisfies ele-1 there. */
  private walkPrimitiveExtension(object: JsonObject, schema: InternalTypeSchema, path: string): void {
    if (Object.keys(object).every((key) => key === 'id')) {
      const id = object.id;
      if (typeof id !== 'string') this.report('value', `${path}.id`, 'Invalid JSON type: expected string');
      else if (id === '') this.report('value', `${path}.id`, 'Empty string');
      return;
    }
    this.walkObject(object, schema, path, false);
  }

  /** Unknown element: named in the expression when it looks like an element name, else the parent. */
  private reportUnknown(path: string, key: string): void {
    if (ELEMENT_NAME.test(key)) this.report('structure', `${path}.${key}`, `Unknown element "${key}"`);
    else this.report('structure', path, 'Unknown element, with a name that is no FHIR element name');
  }

  private checkValue(value: unknown, typeCode: string, element: InternalSchemaElement, path: string): void {
    const jsonType = PRIMITIVE_JSON_TYPES[typeCode];
    if (jsonType !== undefined) {
      if (typeof value !== jsonType) {
        // R4 json.html §2.6.2: a primitive's value is a JSON string, number or boolean, never an object
        // (its id and extensions go in `_name`).
        this.report('value', path, `Invalid JSON type: expected ${jsonType}, but got ${jsonTypeOf(value)}`);
      } else if (typeof value === 'string') this.checkString(value, typeCode, element, path);
      else if (typeof value === 'number') this.checkNumber(value, typeCode, path);
      return;
    }
    if (!isObject(value)) {
      this.report('structure', path, `Invalid JSON type: expected object, but got ${jsonTypeOf(value)}`);
      return;
    }
    // Medplum types Bundle.entry.response.outcome as OperationOutcome rather than Resource.
    if (typeCode === 'Resource' || this.definitions.resourceTypes.has(typeCode)) {
      this.checkContainedResource(value, path);
      return;
    }
    if (element.binding?.strength === 'required' && typeof element.binding.valueSet === 'string') {
      this.checkCodedBinding(value, typeCode, element.binding.valueSet, path);
    }
    if (typeCode === 'Reference') this.checkReference(value, element, path);
    const schema = schemaOf(typeCode);
    if (schema !== undefined) this.walkObject(value, schema, path, false);
  }

  private checkContainedResource(value: JsonObject, path: string): void {
    const resourceType = value.resourceType;
    if (typeof resourceType !== 'string' || !this.definitions.resourceTypes.has(resourceType)) {
      this.report('structure', `${path}.resourceType`, UNKNOWN_CONTAINED_TYPE);
      return;
    }
    this.walkResource(value, resourceType, path);
  }

  private checkString(value: string, typeCode: string, element: InternalSchemaElement, path: string): void {
    if (value === '') {
      // R4 json.html §2.6.2: a primitive string value is never empty (omit the element instead).
      this.report('value', path, 'Empty string');
      return;
    }
    if (typeCode === 'xhtml') {
      // txt-1: a narrative renders as HTML wherever the record goes (src/fhir/narrative-xhtml.ts).
      const fault = narrativeFault(value);
      if (fault !== undefined) this.report('value', path, `Invalid narrative: ${fault}`);
      return;
    }
    if (typeCode === 'base64Binary') {
      // R4 base64Binary allows whitespace between the groups of 4 (see its regex, not used here).
      if (!BASE64.test(value.replace(/[ \t\n\r]+/g, '')))
        this.report('value', path, 'Invalid base64Binary format');
      return;
    }
    const regex = this.definitions.primitiveRegexes.get(typeCode);
    // R4 string allows 1 MB; Medplum reports longer values and whitespace-only strings.
    if (regex !== undefined && value.trim() !== '' && !regex.test(value)) {
      this.report('value', path, `Invalid ${typeCode} format (FHIR R4 ${typeCode} regex)`);
      return;
    }
    if (typeCode === 'date' || typeCode === 'dateTime' || typeCode === 'instant') {
      const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
      if (match !== null && Number(match[3]) > daysInMonth(Number(match[1]), Number(match[2]))) {
        this.report('value', path, `Invalid ${typeCode}: the day does not exist in that month`);
        return;
      }
    }
    if (
      BINDABLE_PRIMITIVES.has(typeCode) &&
      element.binding?.strength === 'required' &&
      typeof element.binding.valueSet === 'string'
    ) {
      const expansion = this.definitions.valueSets.expand(element.binding.valueSet);
      if (expansion !== undefined && !expansion.codes.has(value)) {
        this.report('code-invalid', path, `Code is not in the required value set ${expansion.url}`);
      }
    }
  }

  private checkNumber(value: number, typeCode: string, path: string): void {
    if (typeCode === 'decimal' || !Number.isInteger(value)) return;
    if (value < INT32_MIN || value > INT32_MAX)
      this.report('value', path, `${typeCode} outside the 32-bit range`);
  }

  /**
   * R4 §4.1 "Using codes in resources": with a required binding, a Coding SHALL be from the value set;
   * a CodeableConcept SHALL have a coding from it (text alone is not enough).
   */
  private checkCodedBinding(value: JsonObject, typeCode: string, valueSet: string, path: string): void {
    if (typeCode !== 'Coding' && typeCode !== 'CodeableConcept') return;
    const expansion = this.definitions.valueSets.expand(valueSet);
    if (expansion === undefined) return;
    const codings = typeCode === 'Coding' ? [value] : Array.isArray(value.coding) ? value.coding : [];
    const inValueSet = codings.some((coding: unknown) => {
      if (!isObject(coding) || typeof coding.code !== 'string') return false;
      return typeof coding.system === 'string'
        ? expansion.codings.has(`${coding.system}|${coding.code}`)
        : expansion.codes.has(coding.code);
    });
    if (!inValueSet)
      this.report('code-invalid', path, `Code is not in the required value set ${expansion.url}`);
  }

  private checkReference(value: JsonObject, element: InternalSchemaElement, path: string): void {
    const reference = value.reference;
    if (typeof reference !== 'string' || reference.trim() === '') return;
    const referencePath = `${path}.reference`;
    if (LOCAL_REFERENCE.test(reference)) {
      // R4 ref-1 / §2.3.0.2 contained resources: `#id` SHALL resolve within the container ("#" is the container).
      if (reference !== '#' && !this.containedIds.has(reference.slice(1))) {
        this.report('invariant', path, 'Local reference does not match a contained resource (ref-1)');
      }
      return;
    }
    let targetType: string | undefined;
    const relative = RELATIVE_REFERENCE.exec(reference) ?? CONDITIONAL_REFERENCE.exec(reference);
    if (relative !== null) {
      targetType = relative[1];
      if (targetType === undefined || !this.definitions.resourceTypes.has(targetType)) {
        this.report('value', referencePath, 'Reference names an unknown resource type');
        return;
      }
    } else if (reference.startsWith('urn:uuid:') || reference.startsWith('urn:oid:')) {
      const regex = this.definitions.primitiveRegexes.get(reference.startsWith('urn:uuid:') ? 'uuid' : 'oid');
      if (regex !== undefined && !regex.test(reference))
        this.report('value', referencePath, 'Malformed URN reference');
      return;
    } else if (ABSOLUTE_URI.test(reference)) {
      targetType = ABSOLUTE_RESTFUL_TYPE.exec(reference)?.[1];
      if (targetType === undefined || !this.definitions.resourceTypes.has(targetType)) return;
    } else {
      this.report(
        'value',
        referencePath,
        'Malformed reference: not #id, Type/id, Type?query or an absolute URI',
      );
      return;
    }
    this.checkTargetType(targetType, element, path);
  }

  /** Like Medplum, only a warning: R4 targetProfile lists are advisory for references to other servers. */
  private checkTargetType(targetType: string, element: InternalSchemaElement, path: string): void {
    const targetProfiles = element.type.find((type) => type.code === 'Reference')?.targetProfile;
    if (targetProfiles === undefined || targetProfiles.length === 0) return;
    if (!targetProfiles.every((profile) => profile.startsWith(HL7_PROFILE))) return;
    const allowed = targetProfiles.map((profile) => profile.slice(HL7_PROFILE.length));
    if (allowed.includes('Resource') || allowed.includes(targetType)) return;
    this.issues.push({
      severity: 'warning',
      code: 'value',
      diagnostics: `Reference target ${targetType} is not one of ${allowed.join(', ')}`,
      expression: [`${path}.reference`],
    });
  }
}
