import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../errors/index.js';
import { computeEpcisEventHash } from './event-hash.js';
import { parseEpcisEvent } from './parse-epcis-event.js';

const VECTORS = join(__dirname, '../../../test/vectors/epcis-event-hash');

const commissioning = {
  type: 'ObjectEvent',
  eventTime: '2024-05-01T10:00:00.000+02:00',
  eventTimeZoneOffset: '+02:00',
  epcList: ['urn:epc:id:sgtin:0614141.107346.2017'],
  action: 'ADD',
  bizStep: 'commissioning',
  disposition: 'active',
  readPoint: { id: 'urn:epc:id:sgln:0614141.07346.0' },
  ilmd: { 'cbvmda:lotNumber': 'LOT1', 'cbvmda:itemExpirationDate': '2026-12-31' },
};

function reasonOf(json: unknown): { reason?: unknown; property?: unknown } {
  try {
    parseEpcisEvent(json);
  } catch (error) {
    expect(error).toBeInstanceOf(CareLedgerError);
    expect((error as CareLedgerError).code).toBe('ERR_INVALID_INPUT');
    return (error as CareLedgerError).details as { reason?: unknown; property?: unknown };
  }
  throw new Error('expected a refusal');
}

describe('parseEpcisEvent', () => {
  it('accepts every event of the reference vector documents', () => {
    for (const name of [
      'ReferenceEventHashAlgorithm',
      'epcisDocWithSingleEvent',
      'epcisDocWithVariousEventTypes',
    ]) {
      const document = JSON.parse(readFileSync(join(VECTORS, `${name}.jsonld`), 'utf8'));
      for (const event of document.epcisBody.eventList) expect(parseEpcisEvent(event)).toBe(event);
    }
  });

  it('accepts a commissioning event, and the parsed event hashes', () => {
    const event = parseEpcisEvent(commissioning);
    expect(event.action).toBe('ADD');
    expect(computeEpcisEventHash(event)).toMatch(/^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/);
  });

  it.each([
    ['a non-object', [], 'not-an-object', undefined],
    ['an unknown type', { ...commissioning, type: 'AssociationEvent' }, 'unsupported-event-type', 'type'],
    ['no eventTime', { ...commissioning, eventTime: undefined }, 'missing-property', 'eventTime'],
    [
      'an eventTime without zone',
      { ...commissioning, eventTime: '2024-05-01T10:00:00' },
      'invalid-date-time',
      'eventTime',
    ],
    [
      'a bad offset',
      { ...commissioning, eventTimeZoneOffset: '2h' },
      'invalid-time-zone-offset',
      'eventTimeZoneOffset',
    ],
    ['no action', { ...commissioning, action: undefined }, 'missing-property', 'action'],
    ['an unknown action', { ...commissioning, action: 'MOVE' }, 'invalid-action', 'action'],
    ['an EPC that is not a string', { ...commissioning, epcList: [42] }, 'invalid-epc-list', 'epcList'],
    ['nothing observed', { ...commissioning, epcList: [] }, 'missing-what', 'epcList'],
    [
      'a quantity without class',
      { ...commissioning, epcList: undefined, quantityList: [{ quantity: 3 }] },
      'invalid-quantity-element',
      'quantityList',
    ],
    [
      'a negative quantity',
      {
        ...commissioning,
        epcList: undefined,
        quantityList: [{ epcClass: 'urn:epc:idpat:sgtin:0614141.107346.*', quantity: -1 }],
      },
      'invalid-quantity',
      'quantityList',
    ],
    ['a readPoint without id', { ...commissioning, readPoint: {} }, 'invalid-location', 'readPoint'],
    [
      'a source without type',
      { ...commissioning, sourceList: [{ source: 'urn:epc:id:pgln:0614141.00000' }] },
      'invalid-list-entry',
      'sourceList',
    ],
    [
      'an aggregation ADD without parent',
      {
        ...commissioning,
        type: 'AggregationEvent',
        epcList: undefined,
        childEPCs: ['urn:epc:id:sgtin:0614141.107346.1'],
      },
      'missing-property',
      'parentID',
    ],
    [
      'an aggregation ADD without children',
      {
        ...commissioning,
        type: 'AggregationEvent',
        epcList: undefined,
        parentID: 'urn:epc:id:sscc:0614141.1234567890',
      },
      'missing-what',
      'childEPCs',
    ],
    [
      'a transaction without business transactions',
      { ...commissioning, type: 'TransactionEvent' },
      'missing-property',
      'bizTransactionList',
    ],
    [
      'a transformation with an action',
      {
        ...commissioning,
        type: 'TransformationEvent',
        epcList: undefined,
        inputEPCList: ['urn:epc:id:sgtin:0614141.107346.1'],
      },
      'unexpected-property',
      'action',
    ],
  ])('refuses %s', (_label, json, reason, property) => {
    const details = reasonOf(json);
    expect(details.reason).toBe(reason);
    expect(details.property).toBe(property);
  });
});
