/**
 * Shape checks for one EPCIS 2.0 event in its JSON-LD form, before it is stored or hashed.
 * A refusal is a CareLedgerError ERR_INVALID_INPUT with `details.reason` (and the property at
 * fault in `details.property`); the event is returned unchanged, typed, when it passes.
 */
import { CareLedgerError } from '../../errors/index.js';

export type EpcisAction = 'ADD' | 'OBSERVE' | 'DELETE';
export type EpcisEventType = 'ObjectEvent' | 'AggregationEvent' | 'TransactionEvent' | 'TransformationEvent';
export type QuantityElement = { epcClass: string; quantity?: number; uom?: string };
export type BizTransaction = { type?: string; bizTransaction: string };
export type SourceOrDestination<K extends 'source' | 'destination'> = { type: string } & Record<K, string>;

export type EpcisEvent = {
  type: EpcisEventType;
  eventTime: string;
  eventTimeZoneOffset: string;
  eventID?: string;
  recordTime?: string;
  action?: EpcisAction;
  parentID?: string;
  epcList?: string[];
  childEPCs?: string[];
  inputEPCList?: string[];
  outputEPCList?: string[];
  quantityList?: QuantityElement[];
  childQuantityList?: QuantityElement[];
  inputQuantityList?: QuantityElement[];
  outputQuantityList?: QuantityElement[];
  transformationID?: string;
  bizStep?: string;
  disposition?: string;
  readPoint?: { id: string };
  bizLocation?: { id: string };
  bizTransactionList?: BizTransaction[];
  sourceList?: SourceOrDestination<'source'>[];
  destinationList?: SourceOrDestination<'destination'>[];
  ilmd?: Record<string, unknown>;
  [extension: string]: unknown;
};

const EVENT_TYPES: ReadonlySet<string> = new Set([
  'ObjectEvent',
  'AggregationEvent',
  'TransactionEvent',
  'TransformationEvent',
]);
const ACTIONS: ReadonlySet<string> = new Set(['ADD', 'OBSERVE', 'DELETE']);
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/;
const TIME_ZONE_OFFSET = /^[+-](?:0\d|1[0-4]):[0-5]\d$/;

function refuse(reason: string, message: string, property?: string): never {
  throw new CareLedgerError('ERR_INVALID_INPUT', message, {
    details: property === undefined ? { reason } : { reason, property },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkDateTime(event: Record<string, unknown>, property: string, required: boolean): void {
  const value = event[property];
  if (value === undefined && !required) return;
  if (value === undefined) refuse('missing-property', `${property} is required`, property);
  if (typeof value !== 'string' || !DATE_TIME.test(value) || Number.isNaN(Date.parse(value))) {
    refuse('invalid-date-time', `${property} must be an ISO 8601 date-time with a time zone`, property);
  }
}

function checkString(event: Record<string, unknown>, property: string): void {
  const value = event[property];
  if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
    refuse('invalid-property', `${property} must be a non-empty string`, property);
  }
}

function checkUriList(event: Record<string, unknown>, property: string): number {
  const value = event[property];
  if (value === undefined) return 0;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.length === 0)) {
    refuse('invalid-epc-list', `${property} must be an array of EPC URIs`, property);
  }
  return value.length;
}

function checkQuantityList(event: Record<string, unknown>, property: string): number {
  const value = event[property];
  if (value === undefined) return 0;
  if (!Array.isArray(value)) refuse('invalid-quantity-list', `${property} must be an array`, property);
  for (const element of value) {
    if (!isObject(element) || typeof element.epcClass !== 'string' || element.epcClass.length === 0) {
      refuse('invalid-quantity-element', `each element of ${property} needs an epcClass`, property);
    }
    const { quantity, uom } = element;
    if (
      quantity !== undefined &&
      (typeof quantity !== 'number' || !Number.isFinite(quantity) || quantity < 0)
    ) {
      refuse('invalid-quantity', `a quantity in ${property} must be a non-negative number`, property);
    }
    if (uom !== undefined && (typeof uom !== 'string' || quantity === undefined)) {
      refuse('invalid-uom', `a uom in ${property} must be a string beside a quantity`, property);
    }
  }
  return value.length;
}

function checkLocation(event: Record<string, unknown>, property: string): void {
  const value = event[property];
  if (value === undefined) return;
  if (!isObject(value) || typeof value.id !== 'string' || value.id.length === 0) {
    refuse('invalid-location', `${property} must be an object with an id`, property);
  }
}

function checkTypedList(
  event: Record<string, unknown>,
  property: string,
  key: string,
  typeRequired: boolean,
): number {
  const value = event[property];
  if (value === undefined) return 0;
  if (!Array.isArray(value)) refuse('invalid-list', `${property} must be an array`, property);
  for (const entry of value) {
    if (!isObject(entry) || typeof entry[key] !== 'string' || (entry[key] as string).length === 0) {
      refuse('invalid-list-entry', `each entry of ${property} needs ${key}`, property);
    }
    if (
      (typeRequired || entry.type !== undefined) &&
      (typeof entry.type !== 'string' || entry.type.length === 0)
    ) {
      refuse('invalid-list-entry', `each entry of ${property} needs a type`, property);
    }
  }
  return value.length;
}

function checkAction(event: Record<string, unknown>, type: string): void {
  if (type === 'TransformationEvent') {
    if (event.action !== undefined)
      refuse('unexpected-property', 'a TransformationEvent has no action', 'action');
    return;
  }
  if (event.action === undefined) refuse('missing-property', 'action is required', 'action');
  if (typeof event.action !== 'string' || !ACTIONS.has(event.action)) {
    refuse('invalid-action', 'action must be ADD, OBSERVE or DELETE', 'action');
  }
}

function checkWhat(event: Record<string, unknown>, type: string): void {
  const epcs = checkUriList(event, 'epcList');
  const quantities = checkQuantityList(event, 'quantityList');
  const children = checkUriList(event, 'childEPCs') + checkQuantityList(event, 'childQuantityList');
  const inputs = checkUriList(event, 'inputEPCList') + checkQuantityList(event, 'inputQuantityList');
  const outputs = checkUriList(event, 'outputEPCList') + checkQuantityList(event, 'outputQuantityList');
  if (type === 'ObjectEvent' && epcs + quantities === 0) {
    refuse('missing-what', 'an ObjectEvent names at least one EPC or quantity', 'epcList');
  }
  if (type === 'AggregationEvent') {
    if (event.action !== 'OBSERVE' && event.parentID === undefined) {
      refuse(
        'missing-property',
        'an AggregationEvent with action ADD or DELETE needs a parentID',
        'parentID',
      );
    }
    if (event.action === 'ADD' && children === 0) {
      refuse('missing-what', 'an AggregationEvent with action ADD names at least one child', 'childEPCs');
    }
  }
  if (type === 'TransactionEvent' && !Array.isArray(event.bizTransactionList)) {
    refuse('missing-property', 'a TransactionEvent needs a bizTransactionList', 'bizTransactionList');
  }
  if (type === 'TransformationEvent' && inputs + outputs === 0) {
    refuse('missing-what', 'a TransformationEvent names at least one input or output', 'inputEPCList');
  }
}

/** Checks the shape of one EPCIS 2.0 JSON-LD event of a supported type and returns it typed. */
export function parseEpcisEvent(json: unknown): EpcisEvent {
  if (!isObject(json)) refuse('not-an-object', 'an EPCIS event must be a JSON object');
  const type = json.type;
  if (typeof type !== 'string' || !EVENT_TYPES.has(type)) {
    refuse(
      'unsupported-event-type',
      'type must be ObjectEvent, AggregationEvent, TransactionEvent or TransformationEvent',
      'type',
    );
  }
  checkDateTime(json, 'eventTime', true);
  if (json.eventTimeZoneOffset === undefined) {
    refuse('missing-property', 'eventTimeZoneOffset is required', 'eventTimeZoneOffset');
  }
  if (typeof json.eventTimeZoneOffset !== 'string' || !TIME_ZONE_OFFSET.test(json.eventTimeZoneOffset)) {
    refuse('invalid-time-zone-offset', 'eventTimeZoneOffset must look like +01:00', 'eventTimeZoneOffset');
  }
  checkDateTime(json, 'recordTime', false);
  checkAction(json, type);
  for (const property of ['eventID', 'parentID', 'transformationID', 'bizStep', 'disposition']) {
    checkString(json, property);
  }
  checkLocation(json, 'readPoint');
  checkLocation(json, 'bizLocation');
  checkTypedList(json, 'bizTransactionList', 'bizTransaction', false);
  checkTypedList(json, 'sourceList', 'source', true);
  checkTypedList(json, 'destinationList', 'destination', true);
  if (json.ilmd !== undefined && !isObject(json.ilmd))
    refuse('invalid-property', 'ilmd must be an object', 'ilmd');
  checkWhat(json, type);
  return json as EpcisEvent;
}
