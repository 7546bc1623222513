/**
 * The GS1 EPCIS event hash ID (CBV 2.0 §8.9): a canonical "pre-hash" string of an EPCIS 2.0
 * event (JSON-LD form), hashed with SHA-256 and written as `ni:///sha-256;<hex>?ver=CBV2.0`.
 *
 * The algorithm follows the reference implementation RalphTro/epcis-event-hash-generator (see
 * test/vectors/epcis-event-hash/SOURCE.md); this is an independent TypeScript implementation:
 * - the properties of the standard come first, in the canonical property order, each list's
 *   values sorted; then everything else (business transactions, sources, destinations, ilmd,
 *   user extensions) sorted as whole strings; recordTime, eventID and errorDeclaration are left out;
 * - timestamps in UTC with milliseconds, numbers canonical, CBV URNs and bare CBV words as GS1 Web
 *   URIs, EPC URIs as canonical GS1 Digital Link URIs, extension names as `{namespace}localName`.
 */
import { createHash } from 'node:crypto';
import { canonicalTimestamp, canonicalValue } from './canonical-value.js';

type Node = { name: string; value: string; children: Node[] };
type PropertyOrder = ReadonlyArray<readonly [string, PropertyOrder | null]>;

const QUANTITY_ELEMENT: PropertyOrder = [
  ['epcClass', null],
  ['quantity', null],
  ['uom', null],
];
const EPC: PropertyOrder = [['epc', null]];

/** The canonical property order of CBV 2.0 §8.9.2. */
const PROPERTY_ORDER: PropertyOrder = [
  ['eventTime', null],
  ['eventTimeZoneOffset', null],
  ['certificationInfo', null],
  ['parentID', null],
  ['epcList', EPC],
  ['inputEPCList', EPC],
  ['childEPCs', EPC],
  ['quantityList', [['quantityElement', QUANTITY_ELEMENT]]],
  ['childQuantityList', [['quantityElement', QUANTITY_ELEMENT]]],
  ['inputQuantityList', [['quantityElement', QUANTITY_ELEMENT]]],
  ['outputEPCList', EPC],
  ['outputQuantityList', [['quantityElement', QUANTITY_ELEMENT]]],
  ['action', null],
  ['transformationID', null],
  ['bizStep', null],
  ['disposition', null],
  [
    'persistentDisposition',
    [
      ['set', null],
      ['unset', null],
    ],
  ],
  ['readPoint', [['id', null]]],
  ['bizLocation', [['id', null]]],
  [
    'sensorElementList',
    [
      [
        'sensorElement',
        [
          [
            'sensorMetadata',
            [
              'time',
              'startTime',
              'endTime',
              'deviceID',
              'deviceMetadata',
              'rawData',
              'dataProcessingMethod',
              'bizRules',
            ].map((name) => [name, null] as const),
          ],
          [
            'sensorReport',
            [
              'type',
              'exception',
              'deviceID',
              'deviceMetadata',
              'rawData',
              'dataProcessingMethod',
              'time',
              'microorganism',
              'chemicalSubstance',
              'value',
              'component',
              'stringValue',
              'booleanValue',
              'hexBinaryValue',
              'uriValue',
              'minValue',
              'maxValue',
              'meanValue',
              'sDev',
              'percRank',
              'percValue',
              'uom',
              'coordinateReferenceSystem',
            ].map((name) => [name, null] as const),
          ],
        ],
      ],
    ],
  ],
];

/** Top-level properties that never take part in the hash. */
const IGNORED = new Set(['type', 'recordTime', 'eventID', 'errorDeclaration']);
/** Keys dropped wherever they occur (JSON-LD comments, the context itself). */
const DROPPED = new Set(['#text', 'rdfs:comment', 'comment', '@context']);
/** Lists whose entries are (type, value) pairs kept in that order. */
const PAIR_LISTS: Record<string, string> = {
  bizTransactionList: 'bizTransaction',
  sourceList: 'source',
  destinationList: 'destination',
};
const EPC_LISTS = new Set(['epcList', 'inputEPCList', 'outputEPCList', 'childEPCs']);
const QUANTITY_LISTS = new Set([
  'quantityList',
  'childQuantityList',
  'inputQuantityList',
  'outputQuantityList',
]);

/** Bare CBV words (JSON-LD short forms) and the GS1 Web URI prefix they expand to. */
const BARE_VOCABULARY: Record<string, string> = {
  bizStep: 'https://ref.gs1.org/cbv/BizStep-',
  disposition: 'https://ref.gs1.org/cbv/Disp-',
  set: 'https://ref.gs1.org/cbv/Disp-',
  unset: 'https://ref.gs1.org/cbv/Disp-',
  bizTransactionList: 'https://ref.gs1.org/cbv/BTT-',
  sourceList: 'https://ref.gs1.org/cbv/SDT-',
  destinationList: 'https://ref.gs1.org/cbv/SDT-',
  sensorReport: 'https://gs1.org/voc/',
};

export type EpcisHashOptions = {
  /** The JSON-LD `@context` of the enclosing EPCIS document (for extension namespaces). */
  context?: unknown;
};

type Namespaces = Map<string, string>;

function namespacesOf(context: unknown): Namespaces {
  const namespaces: Namespaces = new Map();
  for (const entry of Array.isArray(context) ? context : [context]) {
    if (entry && typeof entry === 'object' && !Array.isArray(entry)) {
      for (const [prefix, uri] of Object.entries(entry))
        if (typeof uri === 'string') namespaces.set(prefix, uri);
    }
  }
  return namespaces;
}

function expandName(key: string, namespaces: Namespaces): string {
  const colon = key.indexOf(':');
  const ns = colon > 0 ? namespaces.get(key.slice(0, colon)) : undefined;
  return ns === undefined ? key : `{${ns}}${key.slice(colon + 1)}`;
}

function scalarText(value: unknown, namespaces: Namespaces, bareVocabulary?: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  const text = String(value);
  if (typeof value !== 'string') return text;
  const colon = text.indexOf(':');
  const ns = colon > 0 ? namespaces.get(text.slice(0, colon)) : undefined;
  if (ns !== undefined) return `${ns}${text.slice(colon + 1)}`;
  if (bareVocabulary && /^[A-Za-z0-9_.-]+$/.test(text)) return `${bareVocabulary}${text}`;
  return text;
}

function toNode(name: string, value: unknown, ns: Namespaces, parent: string, bare?: string): Node {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as Record<string, unknown>;
    const text = typeof object['#text'] === 'string' ? object['#text'] : '';
    return { name, value: text, children: toNodes(object, ns, parent) };
  }
  return { name, value: scalarText(value, ns, bare), children: [] };
}

function pairNode(entry: unknown, valueKey: string, ns: Namespaces, listName: string): Node {
  const object = (entry && typeof entry === 'object' ? entry : {}) as Record<string, unknown>;
  const children: Node[] = [];
  if (object.type !== undefined)
    children.push(toNode('type', object.type, ns, listName, BARE_VOCABULARY[listName]));
  children.push(toNode(valueKey, object[valueKey], ns, listName));
  return { name: '', value: '', children };
}

function toNodes(object: Record<string, unknown>, ns: Namespaces, parent: string): Node[] {
  const nodes: Node[] = [];
  for (const [key, value] of Object.entries(object)) {
    if (DROPPED.has(key)) continue;
    const name = expandName(key, ns);
    const bare =
      parent === 'event' || parent === 'persistentDisposition'
        ? BARE_VOCABULARY[key]
        : parent === 'sensorReport' && (key === 'type' || key === 'exception')
          ? BARE_VOCABULARY.sensorReport
          : undefined;
    if (!Array.isArray(value)) {
      nodes.push(toNode(name, value, ns, key, bare));
    } else if (PAIR_LISTS[key]) {
      const valueKey = PAIR_LISTS[key];
      nodes.push({ name, value: '', children: value.map((entry) => pairNode(entry, valueKey, ns, key)) });
    } else if (EPC_LISTS.has(key) || QUANTITY_LISTS.has(key) || name.endsWith('List')) {
      const item = EPC_LISTS.has(key)
        ? 'epc'
        : QUANTITY_LISTS.has(key)
          ? 'quantityElement'
          : name.slice(0, -4);
      nodes.push({ name, value: '', children: value.map((entry) => toNode(item, entry, ns, item)) });
    } else {
      for (const entry of value) nodes.push(toNode(name, entry, ns, key, bare));
    }
  }
  return nodes;
}

function isExtensionName(name: string): boolean {
  return name.includes('{') && name.includes('/}');
}

function genericString(nodes: Node[]): string {
  const values = nodes.map((node) => {
    const text = node.value.trim();
    return `${node.name}${text ? `=${canonicalValue(text)}` : ''}${genericString(node.children)}`;
  });
  const keepOrder = nodes.some(
    (n) => n.name === 'bizTransaction' || n.name === 'source' || n.name === 'destination',
  );
  if (!keepOrder) values.sort();
  return values.join('');
}

function orderedNodeString(node: Node, order: PropertyOrder | null): string {
  const nested = order ? orderedString(node.children, order) : '';
  let text = node.value.trim();
  if (text) {
    const lower = node.name.toLowerCase();
    text = `=${lower.includes('time') && !lower.includes('offset') ? canonicalTimestamp(text) : canonicalValue(text)}`;
  }
  return text || nested ? `${node.name}${text}${nested}` : '';
}

/** Consumes from `nodes` what it writes: afterwards only the properties outside `order` remain. */
function orderedString(nodes: Node[], order: PropertyOrder): string {
  let extensions: Node[] = [];
  if (nodes.length > 1 && !nodes.some((n) => n.name.includes('eventTime') || n.name.includes('action'))) {
    extensions = nodes.filter((n) => isExtensionName(n.name));
    for (const extension of extensions) nodes.splice(nodes.indexOf(extension), 1);
  }
  let out = '';
  for (const [name, subOrder] of order) {
    const values: string[] = [];
    for (const node of nodes.filter((n) => n.name === name)) {
      const text = orderedNodeString(node, subOrder);
      if (text) values.push(text);
      if (node.children.length === 0) nodes.splice(nodes.indexOf(node), 1);
    }
    out += values.sort().join('');
  }
  return extensions.length > 0 ? out + genericString(extensions) : out;
}

function eventObject(event: unknown): Record<string, unknown> {
  if (!event || typeof event !== 'object' || Array.isArray(event))
    throw new TypeError('an EPCIS event is an object');
  return event as Record<string, unknown>;
}

/** The canonical pre-hash string of one EPCIS 2.0 JSON-LD event. */
export function createEpcisPreHash(event: unknown, options: EpcisHashOptions = {}): string {
  const object = eventObject(event);
  const namespaces = namespacesOf(options.context ?? object['@context']);
  const nodes = toNodes(object, namespaces, 'event');
  const ordered = orderedString(nodes, PROPERTY_ORDER);
  const rest = genericString(nodes.filter((n) => !IGNORED.has(n.name)));
  return `eventType=${String(object.type ?? '')}${ordered}${rest}`;
}

/** The EPCIS event hash ID: `ni:///sha-256;<hex>?ver=CBV2.0`. */
export function computeEpcisEventHash(event: unknown, options: EpcisHashOptions = {}): string {
  const digest = createHash('sha256').update(createEpcisPreHash(event, options), 'utf8').digest('hex');
  return `ni:///sha-256;${digest}?ver=CBV2.0`;
}
