/**
 * HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(A)-(R): the 18 identifiers, each with the FHIR R4
 * elements and data types that carry it, and the methods that take it out. A profile is refused
 * at load unless, for every carrier, the first rule that selects it uses one of those methods.
 */
import { CareLedgerError } from '../errors/index.js';
import {
  type DeidMethod,
  type DeidNode,
  type DeidProfile,
  evaluateDeidRule,
  type NodeType,
} from './deid-profile.js';

export interface SafeHarborCarrier {
  /** A probe node: the carrier as the rule matcher sees it. */
  readonly node: DeidNode;
  readonly allowed: readonly DeidMethod[];
}

export interface SafeHarborIdentifier {
  readonly letter: string;
  readonly identifier: string;
  readonly carriers: readonly SafeHarborCarrier[];
}

const REMOVE: readonly DeidMethod[] = ['redact'];
const PSEUDONYMISE: readonly DeidMethod[] = ['redact', 'cryptoHash'];
const DATE: readonly DeidMethod[] = ['redact', 'keepYear', 'dateShift'];

function ofType(type: NodeType, allowed: readonly DeidMethod[]): SafeHarborCarrier {
  // A type-wide carrier is probed at a neutral path, so only a nodesByType rule can select it.
  return { node: { resourceType: 'Resource', elements: ['*'], type }, allowed };
}

function atPath(path: string, type: NodeType | undefined, allowed: readonly DeidMethod[]): SafeHarborCarrier {
  const [resourceType, ...elements] = path.split('.');
  return { node: { resourceType: resourceType as string, elements, type }, allowed };
}

const IDENTIFIER_TYPES = [
  ofType('Identifier', PSEUDONYMISE),
  ofType('Reference', PSEUDONYMISE),
  ofType('id', PSEUDONYMISE),
];
const FREE_TEXT = [ofType('Narrative', REMOVE), ofType('Annotation', REMOVE), ofType('FreeText', REMOVE)];

export const SAFE_HARBOR_IDENTIFIERS: readonly SafeHarborIdentifier[] = [
  {
    letter: 'A',
    identifier: 'names',
    // Extensions carry names too (patient-mothersMaidenName), so unknown extensions must go.
    carriers: [ofType('HumanName', REMOVE), ofType('Extension', REMOVE), ...FREE_TEXT],
  },
  {
    letter: 'B',
    identifier: 'geographic subdivisions smaller than a state, including street, city, county, ZIP',
    carriers: [
      ofType('Address', ['redact', 'generalize']),
      atPath('Location.position', undefined, REMOVE),
      atPath('Location.name', undefined, REMOVE),
      atPath('Location.alias', undefined, REMOVE),
    ],
  },
  {
    letter: 'C',
    identifier: 'all elements of dates (except year) related to an individual; ages over 89',
    carriers: [
      ofType('date', DATE),
      ofType('dateTime', DATE),
      ofType('instant', DATE),
      ofType('Age', ['redact', 'generalize']),
      atPath('Patient.birthDate', 'date', ['redact', 'generalize']),
    ],
  },
  { letter: 'D', identifier: 'telephone numbers', carriers: [ofType('ContactPoint', REMOVE)] },
  { letter: 'E', identifier: 'fax numbers', carriers: [ofType('ContactPoint', REMOVE)] },
  { letter: 'F', identifier: 'electronic mail addresses', carriers: [ofType('ContactPoint', REMOVE)] },
  { letter: 'G', identifier: 'social security numbers', carriers: [ofType('Identifier', PSEUDONYMISE)] },
  { letter: 'H', identifier: 'medical record numbers', carriers: [...IDENTIFIER_TYPES] },
  {
    letter: 'I',
    identifier: 'health plan beneficiary numbers',
    carriers: [ofType('Identifier', PSEUDONYMISE), atPath('Coverage.subscriberId', undefined, PSEUDONYMISE)],
  },
  { letter: 'J', identifier: 'account numbers', carriers: [ofType('Identifier', PSEUDONYMISE)] },
  { letter: 'K', identifier: 'certificate/license numbers', carriers: [ofType('Identifier', PSEUDONYMISE)] },
  {
    letter: 'L',
    identifier: 'vehicle identifiers and serial numbers, including license plate numbers',
    carriers: [ofType('Identifier', PSEUDONYMISE)],
  },
  {
    letter: 'M',
    identifier: 'device identifiers and serial numbers',
    carriers: [
      ofType('Identifier', PSEUDONYMISE),
      atPath('Device.udiCarrier', undefined, REMOVE),
      atPath('Device.serialNumber', undefined, PSEUDONYMISE),
      atPath('Device.lotNumber', undefined, PSEUDONYMISE),
      atPath('Device.distinctIdentifier', undefined, PSEUDONYMISE),
    ],
  },
  {
    letter: 'N',
    identifier: 'web universal resource locators (URLs)',
    carriers: [
      ofType('Attachment', REMOVE),
      ofType('ContactPoint', REMOVE),
      atPath('Endpoint.address', undefined, REMOVE),
    ],
  },
  {
    letter: 'O',
    identifier: 'internet protocol (IP) address numbers',
    carriers: [
      atPath('AuditEvent.agent.network', undefined, REMOVE),
      atPath('AuditEvent.source.site', undefined, REMOVE),
    ],
  },
  {
    letter: 'P',
    identifier: 'biometric identifiers, including finger and voice prints',
    carriers: [ofType('Attachment', REMOVE)],
  },
  {
    letter: 'Q',
    identifier: 'full face photographic images and any comparable images',
    carriers: [ofType('Attachment', REMOVE)],
  },
  {
    letter: 'R',
    identifier: 'any other unique identifying number, characteristic, or code',
    carriers: [...IDENTIFIER_TYPES, ...FREE_TEXT],
  },
];

/**
 * Element names whose values are always of a carrier type: a path rule on such an element shadows
 * the type-wide rule, so its method must be one the type allows (e.g. `Patient.name` + `keep`).
 */
const ELEMENT_CARRIER_TYPES: Readonly<Record<string, NodeType>> = {
  name: 'HumanName',
  address: 'Address',
  telecom: 'ContactPoint',
  identifier: 'Identifier',
  photo: 'Attachment',
  attachment: 'Attachment',
  presentedForm: 'Attachment',
  text: 'Narrative',
  note: 'Annotation',
  extension: 'Extension',
  modifierExtension: 'Extension',
  birthDate: 'date',
  display: 'FreeText',
};

/** Throws ERR_INVALID_INPUT naming the first uncovered identifier (letter and carrier, no data). */
export function verifySafeHarborCoverage(profile: DeidProfile): void {
  for (const { letter, identifier, carriers } of SAFE_HARBOR_IDENTIFIERS) {
    for (const carrier of carriers) {
      const rule = evaluateDeidRule(profile, carrier.node);
      if (rule === undefined || !carrier.allowed.includes(rule.method)) {
        throw uncovered(letter, identifier, describe(carrier.node), rule?.method);
      }
    }
  }
  for (const rule of profile.fhirPathRules) {
    if (rule.selector.kind !== 'path') continue;
    const last = rule.selector.elements[rule.selector.elements.length - 1] as string;
    const type = ELEMENT_CARRIER_TYPES[last];
    if (type === undefined || isPathCarrier(rule.selector.resourceType, rule.selector.elements)) continue;
    const holders = SAFE_HARBOR_IDENTIFIERS.filter((entry) =>
      entry.carriers.some((carrier) => carrier.node.type === type && carrier.node.elements[0] === '*'),
    );
    for (const holder of holders) {
      const carrier = holder.carriers.find((c) => c.node.type === type) as SafeHarborCarrier;
      if (!carrier.allowed.includes(rule.method)) {
        throw uncovered(holder.letter, holder.identifier, rule.path, rule.method);
      }
    }
  }
}

/** An element carrier of its own (e.g. Patient.birthDate) was checked with its own allowed methods. */
function isPathCarrier(resourceType: string, elements: readonly string[]): boolean {
  return SAFE_HARBOR_IDENTIFIERS.some((entry) =>
    entry.carriers.some(
      ({ node }) => node.resourceType === resourceType && node.elements.join('.') === elements.join('.'),
    ),
  );
}

function describe(node: DeidNode): string {
  return node.elements[0] === '*'
    ? `nodesByType('${node.type}')`
    : [node.resourceType, ...node.elements].join('.');
}

function uncovered(
  letter: string,
  identifier: string,
  carrier: string,
  method: DeidMethod | undefined,
): CareLedgerError {
  return new CareLedgerError(
    'ERR_INVALID_INPUT',
    `de-identification profile leaves Safe Harbor identifier (${letter}) ${identifier} in: ${carrier} is ${method ?? 'not selected'}`,
    { details: { safeHarbor: letter, carrier, method: method ?? null } },
  );
}
