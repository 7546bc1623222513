import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../storage/sqlite/open-database.js';
import { parseEpcisEvent } from '../epcis/index.js';
import { formatSgtinUri } from '../gs1/index.js';
import { caseKeyOf, lotKeyOf, packKeyOf } from '../ledger/supply-keys.js';
import { SqliteSupplyStore, supplyMigrations } from '../storage/sqlite-supply-store.js';
import { parseEpcisQuery, queryEpcisEvents } from './epcis-query.js';
import { glnOf, ledgerActionsOf, ssccOf } from './ledger-actions.js';
import { epcsOf, parseEpcisDocument } from './parse-epcis-document.js';

const KEY = new Uint8Array(32).fill(7);
const GTIN = '09506000134352';
const rawEvent = (extra: Record<string, unknown> = {}) => ({
  type: 'ObjectEvent',
  eventTime: '2026-12-01T09:00:00+01:00',
  eventTimeZoneOffset: '+01:00',
  epcList: ['urn:epc:id:sgtin:9506000.013435.S1'],
  action: 'OBSERVE',
  bizStep: 'urn:epcglobal:cbv:bizstep:receiving',
  ...extra,
});
const event = (extra: Record<string, unknown> = {}) => parseEpcisEvent(rawEvent(extra));
const doc = (events: unknown[]) => ({
  '@context': ['https://ref.gs1.org/standards/epcis/epcis-context.jsonld'],
  type: 'EPCISDocument',
  schemaVersion: '2.0',
  creationDate: '2026-12-01T08:00:00Z',
  epcisBody: { eventList: events },
});
const reason = (action: () => unknown) => {
  try {
    action();
  } catch (error) {
    return (error as { details?: { reason?: string } }).details?.reason;
  }
  return undefined;
};

describe('EPCIS capture documents', () => {
  it('accepts a document and refuses malformed ones with a reason and the event index', () => {
    expect(parseEpcisDocument(doc([event()])).events).toHaveLength(1);
    expect(reason(() => parseEpcisDocument([]))).toBe('not-an-object');
    expect(reason(() => parseEpcisDocument({ ...doc([event()]), '@context': undefined }))).toBe(
      'missing-context',
    );
    expect(reason(() => parseEpcisDocument({ ...doc([event()]), schemaVersion: '1.2' }))).toBe(
      'schema-version',
    );
    expect(reason(() => parseEpcisDocument({ ...doc([event()]), creationDate: 'yesterday' }))).toBe(
      'creation-date',
    );
    expect(reason(() => parseEpcisDocument(doc([])))).toBe('empty-event-list');
    try {
      parseEpcisDocument(doc([rawEvent(), rawEvent({ eventTime: 'noon' })]));
      expect.unreachable();
    } catch (error) {
      expect((error as { details: unknown }).details).toMatchObject({ event: 1 });
    }
  });

  it('normalises EPCs to GS1 Digital Links and reads the ledger writes of an event', () => {
    expect(epcsOf(event())).toEqual([{ role: 'epc', epc: formatSgtinUri(GTIN, 'S1') }]);
    expect(ledgerActionsOf(event(), KEY, 0)).toEqual([{ kind: 'receive', pack: packKeyOf(KEY, GTIN, 'S1') }]);
    const commissioning = event({
      action: 'ADD',
      bizStep: 'https://ref.gs1.org/cbv/BizStep-commissioning',
      ilmd: { 'cbvmda:lotNumber': 'L1', 'cbvmda:itemExpirationDate': '2030-06-30' },
    });
    expect(ledgerActionsOf(commissioning, KEY, 0)).toEqual([
      {
        kind: 'commission',
        pack: packKeyOf(KEY, GTIN, 'S1'),
        lot: lotKeyOf(KEY, GTIN, 'L1'),
        expiry: 300630,
      },
    ]);
    expect(reason(() => ledgerActionsOf(event({ bizStep: 'shipping' }), KEY, 0))).toBe(
      'shipping-destination',
    );
    expect(ledgerActionsOf(event({ bizStep: 'inspecting' }), KEY, 0)).toEqual([]);
    expect(ledgerActionsOf(event({ type: 'AggregationEvent', action: 'OBSERVE' }), KEY, 0)).toEqual([]);
  });

  it('reads cases (SSCC) and GLNs: packing, shipping a case to a GLN, receiving at a location', () => {
    const sscc = '106141412345678908';
    const parent = caseKeyOf(KEY, sscc);
    const packing = event({
      type: 'AggregationEvent',
      action: 'ADD',
      parentID: `urn:epc:id:sscc:0614141.1234567890`,
      childEPCs: ['urn:epc:id:sgtin:9506000.013435.S1', 'urn:epc:id:sgtin:9506000.013435.S2'],
      epcList: undefined,
      bizStep: 'packing',
    });
    expect(ssccOf('urn:epc:id:sscc:0614141.1234567890')).toBe(sscc);
    expect(ledgerActionsOf(packing, KEY, 0)).toEqual([
      { kind: 'aggregate', parent, children: [packKeyOf(KEY, GTIN, 'S1'), packKeyOf(KEY, GTIN, 'S2')] },
    ]);
    expect(ledgerActionsOf(event({ ...packing, action: 'DELETE', childEPCs: undefined }), KEY, 0)).toEqual([
      { kind: 'disaggregate', parent, children: [] },
    ]);
    const shipping = event({
      epcList: [`https://id.gs1.org/00/${sscc}`, 'urn:epc:id:sgtin:9506000.013435.S3'],
      bizStep: 'shipping',
      destinationList: [{ type: 'owning_party', destination: 'urn:epc:id:pgln:9506000.00000' }],
    });
    expect(glnOf('urn:epc:id:pgln:9506000.00000')).toBe('9506000000008');
    expect(ledgerActionsOf(shipping, KEY, 0)).toEqual([
      { kind: 'ship', pack: packKeyOf(KEY, GTIN, 'S3'), toGln: '9506000000008' },
      { kind: 'ship-case', parent, toGln: '9506000000008' },
    ]);
    const receiving = event({
      epcList: [`https://id.gs1.org/00/${sscc}`],
      bizLocation: { id: 'https://id.gs1.org/414/9506000000008' },
    });
    expect(ledgerActionsOf(receiving, KEY, 0)).toEqual([
      { kind: 'receive-case', parent, atGln: '9506000000008' },
    ]);
    expect(
      reason(() => ledgerActionsOf(event({ epcList: ['https://id.gs1.org/00/106141412345678909'] }), KEY, 0)),
    ).toBe('invalid-epc');
  });

  it('keys packs and lots apart, and per key', () => {
    expect(packKeyOf(KEY, GTIN, 'L1')).not.toBe(lotKeyOf(KEY, GTIN, 'L1'));
    expect(packKeyOf(KEY, GTIN, 'S1')).not.toBe(packKeyOf(new Uint8Array(32), GTIN, 'S1'));
    expect(packKeyOf(KEY, '9506000134352', 'S1')).toBe(packKeyOf(KEY, GTIN, 'S1'));
  });
});

describe('EPCIS query', () => {
  it('parses the standard parameters and refuses unknown ones', () => {
    const filter = parseEpcisQuery(
      new URLSearchParams(
        'eventType=ObjectEvent&GE_eventTime=2026-12-01T09:00:00%2B01:00&EQ_bizStep=urn:epcglobal:cbv:bizstep:shipping&MATCH_anyEPC=urn:epc:id:sgtin:9506000.013435.S1&perPage=5',
      ),
    );
    expect(filter).toMatchObject({
      eventTypes: ['ObjectEvent'],
      eventTimeFrom: '2026-12-01T08:00:00.000Z',
      bizSteps: ['shipping'],
      epcMatches: [
        { roles: ['epc', 'child', 'parent', 'input', 'output'], patterns: [formatSgtinUri(GTIN, 'S1')] },
      ],
      limit: 5,
    });
    expect(reason(() => parseEpcisQuery(new URLSearchParams('EQ_colour=red')))).toBe('query-parameter');
    expect(reason(() => parseEpcisQuery(new URLSearchParams('eventType=Nope')))).toBe('query-parameter');
    expect(reason(() => parseEpcisQuery(new URLSearchParams('perPage=0')))).toBe('query-parameter');
    expect(reason(() => parseEpcisQuery(new URLSearchParams('nextPageToken=zzz')))).toBe('query-parameter');
  });

  it('filters and pages stored events in SQLite', async () => {
    const store = new SqliteSupplyStore(openDatabase(':memory:', supplyMigrations));
    for (let i = 0; i < 5; i++) {
      await store.saveEvent({
        eventHash: `ni:///sha-256;${i}`,
        eventType: 'ObjectEvent',
        eventTime: `2026-12-01T08:00:0${i}.000Z`,
        recordTime: `2026-12-02T08:00:0${i}.000Z`,
        bizStep: i % 2 === 0 ? 'shipping' : 'receiving',
        epcs: [{ role: 'epc', epc: formatSgtinUri(GTIN, `S${i}`) }],
        logIndex: i,
        json: JSON.stringify({ n: i }),
      });
    }
    const page = (query: string) => queryEpcisEvents(store, new URLSearchParams(query));
    const list = async (query: string) =>
      (
        (await page(query)).document as {
          epcisBody: { queryResults: { resultsBody: { eventList: unknown[] } } };
        }
      ).epcisBody.queryResults.resultsBody.eventList;
    expect(await list('EQ_bizStep=shipping')).toEqual([{ n: 0 }, { n: 2 }, { n: 4 }]);
    expect(await list('LT_eventTime=2026-12-01T08:00:02Z&GE_eventTime=2026-12-01T08:00:01Z')).toEqual([
      { n: 1 },
    ]);
    expect(await list(`MATCH_epc=${encodeURIComponent(`${formatSgtinUri(GTIN, 'S3')}`)}`)).toEqual([
      { n: 3 },
    ]);
    expect(
      await list(`MATCH_epc=${encodeURIComponent('https://id.gs1.org/01/09506000134352/21/*')}`),
    ).toHaveLength(5);
    expect(await list('MATCH_parentID=x')).toEqual([]);
    const first = await page('perPage=2');
    expect(first.nextPageToken).toBeDefined();
    expect(await list(`perPage=2&nextPageToken=${first.nextPageToken}`)).toEqual([{ n: 2 }, { n: 3 }]);
    expect(
      await store.saveEvent({
        eventHash: 'ni:///sha-256;0',
        eventType: 'ObjectEvent',
        eventTime: 'x',
        recordTime: 'x',
        epcs: [],
        logIndex: 9,
        json: '{}',
      }),
    ).toBe(false);
  });
});
