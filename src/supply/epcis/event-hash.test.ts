import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { canonicalNumber, canonicalTimestamp } from './canonical-value.js';
import { epcToDigitalLink } from './epc-to-digital-link.js';
import { computeEpcisEventHash, createEpcisPreHash } from './event-hash.js';

const VECTORS = join(__dirname, '../../../test/vectors/epcis-event-hash');

function load(name: string) {
  const document = JSON.parse(readFileSync(join(VECTORS, `${name}.jsonld`), 'utf8'));
  const lines = (ext: string) =>
    readFileSync(join(VECTORS, `${name}.${ext}`), 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
  return {
    context: document['@context'],
    events: document.epcisBody.eventList as unknown[],
    preHashes: lines('prehashes'),
    hashes: lines('hashes'),
  };
}

describe('EPCIS event hash against the reference vectors', () => {
  for (const name of [
    'ReferenceEventHashAlgorithm',
    'epcisDocWithSingleEvent',
    'epcisDocWithVariousEventTypes',
    // every EPC scheme (SGTIN, SSCC, SGLN, GRAI, GIAI, GSRN(P), GDTI, CPI, GINC, GSIN, ITIP, UPUI, PGLN, LGTIN, DL forms)
    'epclist_normalisation',
  ]) {
    const v = load(name);
    v.events.forEach((event, i) => {
      const type = (event as { type: string }).type;
      it(`${name} #${i} (${type}): pre-hash and hash`, () => {
        expect(createEpcisPreHash(event, { context: v.context })).toBe(v.preHashes[i]);
        expect(computeEpcisEventHash(event, { context: v.context })).toBe(v.hashes[i]);
      });
    });
  }

  it('TimeStampRoundOff: sub-millisecond digits rounded half to even, sensor reports', () => {
    const v = load('TimeStampRoundOff');
    for (const i of [0, 1, 2]) {
      expect(createEpcisPreHash(v.events[i], { context: v.context })).toBe(v.preHashes[i]);
      expect(computeEpcisEventHash(v.events[i], { context: v.context })).toBe(v.hashes[i]);
    }
  });
});

describe('canonical values', () => {
  it('timestamps to UTC with milliseconds', () => {
    expect(canonicalTimestamp('2022-02-16T20:33:31.116000-06:00')).toBe('2022-02-17T02:33:31.116Z');
    expect(canonicalTimestamp('2019-10-21T00:05:00-06:00')).toBe('2019-10-21T06:05:00.000Z');
    expect(canonicalTimestamp('2023-02-02T11:04:03.1415Z')).toBe('2023-02-02T11:04:03.142Z');
    expect(canonicalTimestamp('2023-02-02T11:04:03.1425Z')).toBe('2023-02-02T11:04:03.142Z');
    expect(canonicalTimestamp('2023-02-02T23:59:59.9996Z')).toBe('2023-02-03T00:00:00.000Z');
    expect(canonicalTimestamp('not a time')).toBe('not a time');
  });

  it('numbers as the reference prints them', () => {
    expect(canonicalNumber('600')).toBe('600');
    expect(canonicalNumber('+012.50')).toBe('12.5');
    expect(canonicalNumber('1.0')).toBe('1');
    expect(canonicalNumber('0.00001')).toBe('1e-05');
    expect(canonicalNumber('+01:00')).toBe('+01:00');
  });

  it('EPC URIs and Digital Link URIs to canonical Digital Link', () => {
    expect(epcToDigitalLink('urn:epc:id:sgtin:0614141.107346.2017')).toBe(
      'https://id.gs1.org/01/10614141073464/21/2017',
    );
    expect(epcToDigitalLink('urn:epc:id:sscc:4012345.0000000111')).toBe(
      'https://id.gs1.org/00/040123450000001112',
    );
    expect(epcToDigitalLink('urn:epc:id:sgln:4012345.00011.987')).toBe(
      'https://id.gs1.org/414/4012345000115/254/987',
    );
    expect(epcToDigitalLink('urn:epc:id:sgln:4012345.00012.0')).toBe('https://id.gs1.org/414/4012345000122');
    expect(epcToDigitalLink('https://example.com/gtin/9780345418913/ser/765tz?17=201231')).toBe(
      'https://id.gs1.org/01/09780345418913/21/765tz',
    );
    expect(epcToDigitalLink('urn:epcglobal:cbv:bt:5200001000008:4711')).toBeUndefined();
    expect(epcToDigitalLink('http://transaction.acme.com/po/12345678')).toBeUndefined();
  });
});

describe('what the hash ignores and what it does not', () => {
  const base = {
    type: 'ObjectEvent',
    eventTime: '2024-05-01T10:00:00+02:00',
    eventTimeZoneOffset: '+02:00',
    epcList: ['urn:epc:id:sgtin:0614141.107346.2017', 'urn:epc:id:sgtin:0614141.107346.2018'],
    action: 'OBSERVE',
    bizStep: 'shipping',
  };

  it('same hash for reordered EPCs, another time zone, a recordTime, an eventID, the URN forms', () => {
    const other = {
      eventID: 'urn:uuid:7a2b1c38-58f1-4b1a-9f0e-3b0f5a1d2c4e',
      recordTime: '2024-05-01T09:00:01Z',
      bizStep: 'urn:epcglobal:cbv:bizstep:shipping',
      action: 'OBSERVE',
      epcList: ['https://id.gs1.org/01/10614141073464/21/2018', 'urn:epc:id:sgtin:0614141.107346.2017'],
      eventTimeZoneOffset: '+02:00',
      eventTime: '2024-05-01T08:00:00.000Z',
      type: 'ObjectEvent',
    };
    expect(computeEpcisEventHash(other)).toBe(computeEpcisEventHash(base));
  });

  it('a different EPC, step or disposition changes the hash', () => {
    const h = computeEpcisEventHash(base);
    expect(computeEpcisEventHash({ ...base, bizStep: 'receiving' })).not.toBe(h);
    expect(computeEpcisEventHash({ ...base, disposition: 'in_transit' })).not.toBe(h);
    expect(computeEpcisEventHash({ ...base, epcList: ['urn:epc:id:sgtin:0614141.107346.2017'] })).not.toBe(h);
  });
});
