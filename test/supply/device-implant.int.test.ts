/**
 * Issue 19 item 7 on a real chain with three in-process members: medical devices with a GS1 UDI are
 * commissioned, shipped and received with the same EPCIS events as drug packs; a FHIR Device recorded
 * on a patient is verified at write (counterfeit, cloned, expired, recalled refused with 422; a good
 * one marked dispensed on the ledger); a device recall reaches the patient (Communication,
 * DetectedIssue, notification) and the manufacturer learns only the count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../src/node/start-node.js';
import { formatSgtinUri } from '../../src/supply/gs1/index.js';
import { lotKeyOf, packKeyOf } from '../../src/supply/index.js';
import { type SupplyConsortium, startSupplyConsortium } from '../support/start-supply-consortium.js';

const DI = '00844588003288';
const GS1 = 'http://hl7.org/fhir/NamingSystem/gs1-di';
const SURGEON = { 'x-careledger-identity': 'Practitioner/surgeon-1', 'x-careledger-roles': 'clinician' };
// biome-ignore lint/suspicious/noExplicitAny: the tests read JSON answers loosely
type Json = Record<string, any>;
let c: SupplyConsortium;
let clock = 0;

const nextTime = () => new Date(Date.UTC(2026, 11, 2, 8, 0, clock++)).toISOString();
const epcisDocument = (events: unknown[]) => ({
  '@context': ['https://ref.gs1.org/standards/epcis/epcis-context.jsonld'],
  type: 'EPCISDocument',
  schemaVersion: '2.0',
  creationDate: '2026-12-02T08:00:00Z',
  epcisBody: { eventList: events },
});
const objectEvent = (serials: string[], bizStep: string, extra: Record<string, unknown> = {}) => ({
  type: 'ObjectEvent',
  eventTime: nextTime(),
  eventTimeZoneOffset: '+00:00',
  epcList: serials.map((serial) => formatSgtinUri(DI, serial)),
  action: 'OBSERVE',
  bizStep,
  ...extra,
});

async function call(node: RunningNode, method: string, path: string, body?: unknown, headers = SURGEON) {
  const response = await node.app.request(path, {
    method,
    headers: {
      ...headers,
      ...(body === undefined
        ? {}
        : { 'content-type': path.startsWith('/fhir') ? 'application/fhir+json' : 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as Json };
}

const capture = async (node: RunningNode, events: unknown[]) => {
  const answer = await call(node, 'POST', '/epcis/capture', epcisDocument(events));
  expect(answer.status, JSON.stringify(answer.body)).toBe(202);
};

/** A Device on a patient with a GS1 UDI in its human-readable form. */
const implant = (patient: string | undefined, hrf: string, issuer = GS1, di = DI) =>
  call(c.pharmacy, 'POST', '/fhir/Device', {
    resourceType: 'Device',
    status: 'active',
    udiCarrier: [{ deviceIdentifier: di, issuer, carrierHRF: hrf, entryType: 'barcode' }],
    type: { text: 'Hip prosthesis' },
    ...(patient === undefined ? {} : { patient: { reference: `Patient/${patient}` } }),
  });
const verdictOf = (body: Json) => JSON.stringify(body.issue);

beforeAll(async () => {
  c = await startSupplyConsortium();
}, 120_000);

afterAll(async () => {
  await c?.stop();
});

describe('medical devices with a GS1 UDI', () => {
  it('tracks devices with EPCIS, checks an implant at write and reaches the patient of a device recall', async () => {
    const supply = c.pharmacy.supply;
    if (supply === undefined) throw new Error('no supply module');
    // D1-D3 in lot L1 (production date and expiry); D4 in lot L0, expired; D5 in lot LN, no expiry.
    await capture(c.manufacturer, [
      objectEvent(['D1', 'D2', 'D3'], 'commissioning', {
        action: 'ADD',
        ilmd: { 'cbvmda:lotNumber': 'L1', 'cbvmda:itemExpirationDate': '2030-11-20' },
      }),
      objectEvent(['D4'], 'commissioning', {
        action: 'ADD',
        ilmd: { 'cbvmda:lotNumber': 'L0', 'cbvmda:itemExpirationDate': '2020-01-31' },
      }),
      objectEvent(['D5'], 'commissioning', { action: 'ADD', ilmd: { 'cbvmda:lotNumber': 'LN' } }),
      objectEvent(['D1', 'D2', 'D3', 'D4', 'D5'], 'shipping', {
        destinationList: [
          { type: 'owning_party', destination: `urn:careledger:member:${c.pharmacy.ledger.address}` },
        ],
      }),
    ]);
    await capture(c.pharmacy, [objectEvent(['D1', 'D2', 'D3', 'D4', 'D5'], 'receiving')]);

    const patient = await call(c.pharmacy, 'POST', '/fhir/Patient', {
      resourceType: 'Patient',
      name: [{ family: 'Gamma' }],
    });
    const other = await call(c.pharmacy, 'POST', '/fhir/Patient', {
      resourceType: 'Patient',
      name: [{ family: 'Delta' }],
    });
    const p = patient.body.id as string;

    // A good implant: written, and the unit is dispensed on the ledger.
    const good = await implant(p, `(01)${DI}(11)261101(17)301120(10)L1(21)D1`);
    expect(good.status, JSON.stringify(good.body)).toBe(201);
    await c.pharmacy.ledger.outbox.drain(30_000);
    expect(await supply.ledger.pack(packKeyOf(c.supplyKey, DI, 'D1'))).toMatchObject({ status: 'dispensed' });

    // The same serial on another patient (a clone), an unknown serial, an expired unit, a wrong lot.
    const clone = await implant(other.body.id, `(01)${DI}(17)301120(10)L1(21)D1`);
    expect(clone.status).toBe(422);
    expect(verdictOf(clone.body)).toContain('supply-verdict: already-dispensed');
    expect(verdictOf(clone.body)).toContain('Device.udiCarrier');
    const counterfeit = await implant(p, `(01)${DI}(17)301120(10)L1(21)FAKE1`);
    expect(verdictOf(counterfeit.body)).toContain('supply-verdict: no-match-gtin-serial');
    const expired = await implant(p, `(01)${DI}(17)200131(10)L0(21)D4`);
    expect(expired.status).toBe(422);
    expect(verdictOf(expired.body)).toContain('supply-verdict: expired');
    const wrongLot = await implant(p, `(01)${DI}(10)L9(21)D2`);
    expect(verdictOf(wrongLot.body)).toContain('supply-verdict: lot-mismatch');
    // A device without an expiry: its UDI carries none, and it is good.
    const noExpiry = await implant(p, `(01)${DI}(10)LN(21)D5`);
    expect(noExpiry.status, JSON.stringify(noExpiry.body)).toBe(201);
    // A UDI that does not parse (a wrong check digit) names no product the consortium tracks: the
    // record is stored, unverified (a hospital records every manufacturer's devices; Synthea's have
    // random UDIs). One that contradicts a tracked unit (its serial D2 is on the ledger) is refused.
    const badDigit = await implant(p, `(01)00844588003289(21)D2`, GS1, '00844588003289');
    expect(badDigit.status, JSON.stringify(badDigit.body)).toBe(201);
    // Another manufacturer's device, never commissioned in the consortium: stored, nothing claimed.
    const untracked = await implant(p, '(01)96702913868313(17)300727(10)528662860311789(21)9866037');
    expect(untracked.status, JSON.stringify(untracked.body)).toBe(201);
    const mismatch = await implant(p, `(01)${DI}(21)D2`, GS1, '09506000134352');
    expect(mismatch.status).toBe(400);
    expect(JSON.stringify(mismatch.body)).toContain('Device.udiCarrier.deviceIdentifier');
    // A HIBCC UDI is out of scope (not GS1): written unchecked. A device on no patient: inventory.
    expect(
      (await implant(p, '+H123PARTNO1/$$420020216LOT123/SXYZ', 'http://hl7.org/fhir/NamingSystem/hibcc-dI'))
        .status,
    ).toBe(201);
    expect((await implant(undefined, `(01)${DI}(17)301120(10)L1(21)D3`)).status).toBe(201);

    // The manufacturer recalls lot L1; D3 is refused afterwards; the patient of D1 is reached.
    const recall = await call(c.manufacturer, 'POST', '/supply/recalls', { gtin: DI, lot: 'L1' });
    expect(recall.status, JSON.stringify(recall.body)).toBe(202);
    const afterRecall = await implant(other.body.id, `(01)${DI}(17)301120(10)L1(21)D3`);
    expect(verdictOf(afterRecall.body)).toContain('supply-verdict: recalled');
    await c.pharmacy.ledger.outbox.drain(30_000);
    await supply.recalls.follow();
    const notices = await call(c.pharmacy, 'GET', '/notifications', undefined, {
      'x-careledger-identity': `Patient/${p}`,
    } as never);
    const recallNotice = notices.body.notifications.find((n: Json) => n.kind === 'supply-recall');
    expect(recallNotice.message).toContain('medical device');
    expect(recallNotice.subject).toBe(`Device/${good.body.id}`);
    const communications = await call(c.pharmacy, 'GET', `/fhir/Communication?subject=Patient/${p}`);
    expect(communications.body.entry).toHaveLength(1);
    expect(communications.body.entry[0].resource.about).toEqual([{ reference: `Device/${good.body.id}` }]);
    const issues = await call(c.pharmacy, 'GET', `/fhir/DetectedIssue?patient=Patient/${p}`);
    expect(issues.body.entry[0].resource.implicated).toEqual([{ reference: `Device/${good.body.id}` }]);
    const surgeonNotices = await call(c.pharmacy, 'GET', '/notifications');
    expect(surgeonNotices.body.notifications.some((n: Json) => n.subject.startsWith('DetectedIssue/'))).toBe(
      true,
    );

    await c.pharmacy.ledger.outbox.drain(30_000);
    const reach = await call(c.manufacturer, 'GET', `/supply/recalls/reach?gtin=${DI}&lot=L1`);
    expect(reach.body).toMatchObject({ lot: lotKeyOf(c.supplyKey, DI, 'L1'), patients: 1 });
    expect(JSON.stringify(reach.body)).not.toContain(p);
  }, 180_000);
});
