/**
 * De-identification profile: an ordered list of rules in the spirit of Microsoft's Tools for Health
 * Data Anonymization FHIR configuration (`fhirPathRules: [{ path, method }]`).
 *
 * Supported selector subset (documented in docs/decisions/0020-research-deidentification.md). Full
 * FHIRPath is not evaluated; a selector is one of:
 * - `nodesByType('T')`: every node of data type T, where T is one of {@link NODE_TYPES}. Types are
 *   recognised structurally (element names and shape), not from StructureDefinitions.
 * - `Type.a.b`: the element at that path in resources of that type (arrays are transparent,
 *   choice elements use their JSON name, e.g. `Observation.valueString`).
 * - `Resource.a.b`: that element path in a resource of any type.
 *
 * The first rule that selects a node decides it (rules are evaluated in order). A node no rule
 * selects is kept, and its children are visited. `keep` keeps a node and still visits its children.
 */
import { CareLedgerError } from '../errors/index.js';

export const DEID_METHODS = ['redact', 'dateShift', 'keepYear', 'cryptoHash', 'generalize', 'keep'] as const;
export type DeidMethod = (typeof DEID_METHODS)[number];

/** Data types the walker recognises. `FreeText` is a string that no code system binds (see walker). */
export const NODE_TYPES = [
  'HumanName',
  'Address',
  'ContactPoint',
  'Identifier',
  'Attachment',
  'Narrative',
  'Annotation',
  'Extension',
  'Reference',
  'FreeText',
  'Age',
  'date',
  'dateTime',
  'instant',
  'id',
] as const;
export type NodeType = (typeof NODE_TYPES)[number];

export type DeidSelector =
  | { readonly kind: 'type'; readonly type: NodeType }
  | { readonly kind: 'path'; readonly resourceType: string; readonly elements: readonly string[] };

export interface DeidRule {
  readonly path: string;
  readonly method: DeidMethod;
  readonly selector: DeidSelector;
}

export interface DeidProfile {
  readonly name: string;
  readonly fhirPathRules: readonly DeidRule[];
  /** Extensions (by url) that are walked like `keep`; every other extension goes to the Extension rule. */
  readonly keepExtensions: readonly string[];
  /** Quasi-identifiers beyond birth year, sex and 3-digit postal code, checked for k-anonymity. */
  readonly quasiIdentifiers: readonly string[];
}

/** A node as the rule matcher sees it: where it is and what it is. */
export interface DeidNode {
  readonly resourceType: string;
  /** Element names from the resource root, arrays left out. */
  readonly elements: readonly string[];
  readonly type: NodeType | undefined;
}

const TYPE_SELECTOR = /^nodesByType\('([A-Za-z]+)'\)$/;
const PATH_SELECTOR = /^([A-Z][A-Za-z]*)((?:\.[a-z][A-Za-z0-9]*)+)$/;

export function parseDeidSelector(path: string): DeidSelector {
  const typeMatch = TYPE_SELECTOR.exec(path);
  if (typeMatch) {
    const type = typeMatch[1] as NodeType;
    if (!(NODE_TYPES as readonly string[]).includes(type)) {
      throw invalidProfile('unsupported type in nodesByType selector', { type });
    }
    return { kind: 'type', type };
  }
  const pathMatch = PATH_SELECTOR.exec(path);
  if (pathMatch) {
    return {
      kind: 'path',
      resourceType: pathMatch[1] as string,
      elements: (pathMatch[2] as string).slice(1).split('.'),
    };
  }
  throw invalidProfile('unsupported selector (see the supported FHIRPath subset)', { path });
}

export function isSelectorMatch(selector: DeidSelector, node: DeidNode): boolean {
  if (selector.kind === 'type') return node.type === selector.type;
  if (selector.resourceType !== 'Resource' && selector.resourceType !== node.resourceType) return false;
  if (selector.elements.length !== node.elements.length) return false;
  return selector.elements.every((element, index) => element === node.elements[index]);
}

/** The first rule that selects the node, or undefined (the node is then kept and walked). */
export function evaluateDeidRule(profile: DeidProfile, node: DeidNode): DeidRule | undefined {
  return profile.fhirPathRules.find((rule) => isSelectorMatch(rule.selector, node));
}

export function invalidProfile(message: string, details?: Record<string, unknown>): CareLedgerError {
  return new CareLedgerError('ERR_INVALID_INPUT', `de-identification profile: ${message}`, { details });
}
