/**
 * The EPCIS 2.0 REST binding's capture jobs, single-event capture and settings, cases (packing packs
 * into an SSCC moves them with it on the ledger) and the GLN directory (shipping to a GLN, a receipt
 * at another member's GLN refused), on a real chain with three in-process members.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../src/node/start-node.js';
import { computeGs1CheckDigit, formatSgtinUri } from '../../src/supply/gs1/index.js';
import { packKeyOf } from '../../src/supply/index.js';
import { type SupplyConsortium, startSupplyConsortium } from '../support/start-supply-consortium.js';

const GTIN = '09506000134352';
const STAFF = { 'x-careledger-identity': 'Practitioner/logistics-1', 'x-careledger-roles': 'clinician' };
const withCheckDigit = (digits: string) => `${digits}${computeGs1CheckDigit(digits)}`;
const PHARMACY_GLN = withCheckDigit('950600000010');
const WHOLESALER_GLN = withCheckDigit('950600000020');
const UNCLAIMED_GLN = withCheckDigit('950600000090');
const CASE = `https://id.gs1.org/00/${withCheckDigit('09506000000000001')}`;
// biome-ignore lint/suspicious/noExplicitAny: the tests read JSON answers loosely
type Json = Record<string, any>;
let c: SupplyConsortium;
let clock = 0;

const nextTime = () => new Date(Date.UTC(2026, 11, 3, 8, 0, clock++)).toISOString();
const epcisDocument = (events: unknown[]) => ({
  '@context': ['https://ref.gs1.org/standards/epcis/epcis-context.jsonld'],
  type: 'EPCISDocument',
  schemaVersion: '2.0',
  creationDate: '2026-12-03T08:00:00Z',
  epcisBody: { eventList: events },
});
const event = (type: string, extra: Record<string, unknown>) => ({
  type,
  eventTime: nextTime(),
  eventTimeZoneOffset: '+00:00',
  ...extra,
});
const packs = (...serials: string[]) => serials.map((serial) => formatSgtinUri(GTIN, serial));
const shipTo = (epcList: string[], gln: string) =>
  event('ObjectEvent', {
    epcList,
    action: 'OBSERVE',
    bizStep: 'shipping',
    destinationList: [{ type: 'owning_party', destination: `https://id.gs1.org/417/${gln}` }],
  });
const receiveAt = (epcList: string[], gln: string) =>
  event('ObjectEvent', {
    epcList,
    action: 'OBSERVE',
    bizStep: 'receiving',
    bizLocation: { id: `https://id.gs1.org/414/${gln}` },
  });

async function call(
  node: RunningNode,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const response = await node.app.request(path, {
    method,
    headers: { ...STAFF, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: (text === '' ? undefined : JSON.parse(text)) as Json,
  };
}

const capture = (node: RunningNode, events: unknown[], headers: Record<string, string> = {}) =>
  call(node, 'POST', '/epcis/capture', epcisDocument(events), headers);

beforeAll(async () => {
  c = await startSupplyConsortium();
}, 120_000);

afterAll(async () => {
  await c?.stop();
});

describe('EPCIS REST binding, cases and the GLN directory', () => {
  it('ships a case to a GLN and moves the packs in it; refuses unknown GLNs and receipts elsewhere', async () => {
    const ledger = c.pharmacy.supply?.ledger;
    if (ledger === undefined) throw new Error('no supply module');
    expect((await call(c.pharmacy, 'POST', '/supply/glns', { gln: PHARMACY_GLN })).status).toBe(201);
    expect((await call(c.wholesaler, 'POST', '/supply/glns', { gln: WHOLESALER_GLN })).status).toBe(201);
    const taken = await call(c.wholesaler, 'POST', '/supply/glns', { gln: PHARMACY_GLN });
    expect(taken.status).toBe(412);
    expect((await call(c.pharmacy, 'POST', '/supply/glns', { gln: '9506000000102' })).status).toBe(400);
    expect((await call(c.manufacturer, 'GET', `/supply/glns/${PHARMACY_GLN}`)).body).toEqual({
      gln: PHARMACY_GLN,
      member: c.pharmacy.ledger.address,
    });
    expect(
      (await call(c.manufacturer, 'GET', `/supply/glns?member=${c.pharmacy.ledger.address}`)).body,
    ).toEqual({ member: c.pharmacy.ledger.address, glns: [PHARMACY_GLN] });

    const packed = await capture(c.manufacturer, [
      event('ObjectEvent', {
        epcList: packs('K1', 'K2', 'K3'),
        action: 'ADD',
        bizStep: 'commissioning',
        ilmd: { 'cbvmda:lotNumber': 'LK', 'cbvmda:itemExpirationDate': '2031-03-31' },
      }),
      event('AggregationEvent', {
        parentID: CASE,
        childEPCs: packs('K1', 'K2'),
        action: 'ADD',
        bizStep: 'packing',
      }),
    ]);
    expect(packed.status, JSON.stringify(packed.body)).toBe(202);
    expect(await ledger.childrenOf(await caseKey())).toEqual([
      packKeyOf(c.supplyKey, GTIN, 'K1'),
      packKeyOf(c.supplyKey, GTIN, 'K2'),
    ]);

    const unknown = await capture(c.manufacturer, [shipTo([CASE], UNCLAIMED_GLN)]);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ type: 'epcisException:ValidationException', reason: 'unknown-gln' });
    expect((await capture(c.manufacturer, [shipTo([CASE], PHARMACY_GLN)])).status).toBe(202);
    expect(await ledger.pack(packKeyOf(c.supplyKey, GTIN, 'K1'))).toMatchObject({
      status: 'in-transit',
      addressee: c.pharmacy.ledger.address,
    });
    expect(await ledger.pack(packKeyOf(c.supplyKey, GTIN, 'K3'))).toMatchObject({ status: 'owned' });

    // Received at the wholesaler's dock: refused before the ledger is asked (nothing flagged).
    const elsewhere = await capture(c.pharmacy, [receiveAt([CASE], WHOLESALER_GLN)]);
    expect(elsewhere.body).toMatchObject({ reason: 'biz-location-not-ours' });
    expect((await capture(c.pharmacy, [receiveAt([CASE], PHARMACY_GLN)])).status).toBe(202);
    for (const serial of ['K1', 'K2']) {
      expect(await ledger.pack(packKeyOf(c.supplyKey, GTIN, serial))).toMatchObject({
        status: 'owned',
        owner: c.pharmacy.ledger.address,
        suspect: false,
      });
    }
    const aggregations = await call(c.manufacturer, 'GET', '/epcis/eventTypes/AggregationEvent/events');
    expect(aggregations.body.epcisBody.queryResults.resultsBody.eventList).toHaveLength(1);
    expect((await call(c.manufacturer, 'GET', '/epcis/eventTypes/Nope/events')).status).toBe(404);
  }, 120_000);

  it('keeps capture jobs, captures single events, and honours GS1-Capture-Error-Behaviour', async () => {
    const settings = await call(c.manufacturer, 'OPTIONS', '/epcis/capture');
    expect(settings.status).toBe(204);
    expect(settings.headers.get('GS1-EPCIS-Capture-Limit')).toBe('10000');
    expect(settings.headers.get('GS1-EPCIS-Version')).toBe('2.0.0');

    const good = await capture(c.manufacturer, [
      event('ObjectEvent', {
        epcList: packs('J1', 'J2'),
        action: 'ADD',
        bizStep: 'commissioning',
        ilmd: { 'cbvmda:lotNumber': 'LJ', 'cbvmda:itemExpirationDate': '2031-03-31' },
      }),
    ]);
    const location = good.headers.get('location') as string;
    expect(location).toBe(`/epcis/capture/${good.body.captureID}`);
    const job = await call(c.manufacturer, 'GET', location);
    expect(job.body).toMatchObject({
      captureID: good.body.captureID,
      running: false,
      success: true,
      captureErrorBehaviour: 'rollback',
      errors: [],
      eventIDs: [good.body.events[0].eventID],
    });
    expect(job.body.finishedAt).toBeTypeOf('string');
    const missing = await call(c.manufacturer, 'GET', '/epcis/capture/no-such-job');
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ type: 'epcisException:NoSuchResourceException' });

    // rollback (default): J9 was never commissioned, so its receipt is flagged on chain and refused;
    // the job records the error, and the event after it is not captured.
    const stop = await capture(c.manufacturer, [
      receiveAt(packs('J9'), withCheckDigit('950600000030')),
      event('ObjectEvent', { epcList: packs('J1'), action: 'OBSERVE', bizStep: 'inspecting' }),
    ]);
    expect(stop.status).toBe(400);
    const stopped = await call(c.manufacturer, 'GET', `/epcis/capture/${stop.body.captureID}`);
    expect(stopped.body).toMatchObject({ running: false, success: false, eventIDs: [] });
    expect(stopped.body.errors[0]).toMatchObject({ type: 'epcisException:ValidationException', event: 0 });

    // proceed: the bad event is listed, the good one captured.
    const onward = await capture(
      c.manufacturer,
      [
        event('ObjectEvent', { epcList: packs('J1'), action: 'OBSERVE', bizStep: 'receiving' }),
        event('ObjectEvent', { epcList: packs('J2'), action: 'OBSERVE', bizStep: 'inspecting' }),
      ],
      { 'GS1-Capture-Error-Behaviour': 'proceed' },
    );
    expect(onward.status, JSON.stringify(onward.body)).toBe(202);
    expect(onward.body.events).toHaveLength(1);
    expect(onward.body.errors).toMatchObject([{ event: 0, reason: 'suspect' }]);
    const proceeded = await call(c.manufacturer, 'GET', `/epcis/capture/${onward.body.captureID}`);
    expect(proceeded.body).toMatchObject({ success: false, captureErrorBehaviour: 'proceed' });
    expect(proceeded.body.eventIDs).toHaveLength(1);
    expect((await capture(c.manufacturer, [], { 'GS1-Capture-Error-Behaviour': 'sometimes' })).status).toBe(
      400,
    );

    // One event: 201 at its own URL, readable there.
    const single = await call(c.manufacturer, 'POST', '/epcis/events', {
      '@context': ['https://ref.gs1.org/standards/epcis/epcis-context.jsonld'],
      ...event('ObjectEvent', { epcList: packs('J2'), action: 'OBSERVE', bizStep: 'inspecting' }),
    });
    expect(single.status, JSON.stringify(single.body)).toBe(201);
    const eventUrl = single.headers.get('location') as string;
    expect(eventUrl).toBe(`/epcis/events/${encodeURIComponent(single.body.eventID)}`);
    const stored = await call(c.manufacturer, 'GET', eventUrl);
    expect(stored.status).toBe(200);
    expect(stored.body).toMatchObject({ type: 'ObjectEvent', eventID: single.body.eventID });
    expect((await call(c.manufacturer, 'GET', '/epcis/events/nope')).status).toBe(404);

    const jobs = await call(c.manufacturer, 'GET', '/epcis/capture?perPage=2');
    expect(jobs.body).toHaveLength(2);
    expect(jobs.headers.get('link')).toMatch(/rel="next"/);
  }, 120_000);
});

/** The ledger key of the test's case, as the nodes compute it. */
async function caseKey() {
  const { caseKeyOf } = await import('../../src/supply/ledger/supply-keys.js');
  return caseKeyOf(c.supplyKey, CASE.slice(CASE.lastIndexOf('/') + 1));
}
