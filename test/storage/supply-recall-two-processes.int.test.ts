/**
 * On PostgreSQL every process of a member is a whole node and follows recalls (decision 0022 and
 * 0026): a pharmacy running two processes on one database must still reach a recalled pack's patient
 * once and report the reach on the ledger once, not once per process (SupplyStore.followExclusively).
 */
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import type { RunningNode } from '../../src/node/start-node.js';
import { formatSgtinUri } from '../../src/supply/gs1/index.js';
import { type SupplyConsortium, startSupplyConsortium } from '../support/start-supply-consortium.js';

process.env.CARELEDGER_TEST_POSTGRES = '1';
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const GTIN = '09506000134352';
const STAFF = { 'x-careledger-identity': 'Practitioner/pharmacist-1', 'x-careledger-roles': 'clinician' };
// biome-ignore lint/suspicious/noExplicitAny: the test reads JSON answers loosely
type Json = Record<string, any>;
let c: SupplyConsortium;
let second: RunningNode;
let clock = 0;

async function call(
  node: RunningNode,
  method: string,
  path: string,
  body?: unknown,
  headers: object = STAFF,
) {
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

const event = (serials: string[], bizStep: string, extra: Record<string, unknown> = {}) => ({
  type: 'ObjectEvent',
  eventTime: new Date(Date.UTC(2026, 11, 1, 9, 0, clock++)).toISOString(),
  eventTimeZoneOffset: '+00:00',
  epcList: serials.map((serial) => formatSgtinUri(GTIN, serial)),
  action: 'OBSERVE',
  bizStep,
  ...extra,
});

const capture = async (node: RunningNode, events: unknown[]) => {
  const response = await call(node, 'POST', '/epcis/capture', {
    '@context': ['https://ref.gs1.org/standards/epcis/epcis-context.jsonld'],
    type: 'EPCISDocument',
    schemaVersion: '2.0',
    creationDate: '2026-12-01T08:00:00Z',
    epcisBody: { eventList: events },
  });
  expect(response.status, JSON.stringify(response.body)).toBe(202);
};

beforeAll(async () => {
  c = await startSupplyConsortium();
  second = await c.startProcess('pharmacy');
});
afterAll(async () => {
  await c?.stop();
});

it("two processes of a pharmacy on one database reach a recalled pack's patient once", async () => {
  await capture(c.manufacturer, [
    event(['R1'], 'commissioning', {
      action: 'ADD',
      disposition: 'active',
      ilmd: { 'cbvmda:lotNumber': 'LR', 'cbvmda:itemExpirationDate': '2030-06-30' },
    }),
  ]);
  await capture(c.manufacturer, [
    event(['R1'], 'shipping', {
      disposition: 'in_transit',
      destinationList: [
        { type: 'owning_party', destination: `urn:careledger:member:${c.pharmacy.ledger.address}` },
      ],
    }),
  ]);
  await capture(c.pharmacy, [event(['R1'], 'receiving')]);
  const patient = await call(c.pharmacy, 'POST', '/fhir/Patient', {
    resourceType: 'Patient',
    name: [{ family: 'Twice' }],
  });
  expect(patient.status).toBe(201);
  const dispensed = await call(second, 'POST', '/fhir/MedicationDispense', {
    resourceType: 'MedicationDispense',
    status: 'completed',
    contained: [
      {
        resourceType: 'Medication',
        id: 'pack',
        identifier: [
          { system: 'https://www.gs1.org/gtin', value: GTIN },
          { system: 'https://www.gs1.org/serial', value: 'R1' },
        ],
        batch: { lotNumber: 'LR', expirationDate: '2030-06-30' },
      },
    ],
    medicationReference: { reference: '#pack' },
    subject: { reference: `Patient/${patient.body.id}` },
  });
  expect(dispensed.status, JSON.stringify(dispensed.body)).toBe(201);

  const recall = await call(c.manufacturer, 'POST', '/supply/recalls', { gtin: GTIN, lot: 'LR' });
  expect(recall.status, JSON.stringify(recall.body)).toBe(202);
  // Both processes follow at once (their own timers may be at it too).
  const handled = await Promise.all(
    [c.pharmacy, second, c.pharmacy, second].map((node) => node.supply?.recalls.follow() ?? 0),
  );
  expect(handled.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1);

  const communications = await call(
    c.pharmacy,
    'GET',
    `/fhir/Communication?subject=Patient/${patient.body.id}`,
  );
  expect(communications.body.entry ?? []).toHaveLength(1);
  const notices = await call(c.pharmacy, 'GET', '/notifications', undefined, {
    'x-careledger-identity': `Patient/${patient.body.id}`,
  });
  expect(notices.body.notifications.filter((n: { kind: string }) => n.kind === 'supply-recall')).toHaveLength(
    1,
  );
  await c.pharmacy.ledger.outbox.drain(30_000);
  await second.ledger.outbox.drain(30_000);
  const reach = await call(c.manufacturer, 'GET', `/supply/recalls/reach?gtin=${GTIN}&lot=LR`);
  expect(reach.body).toMatchObject({
    patients: 1,
    members: [{ member: c.pharmacy.ledger.address, patients: 1 }],
  });
  expect(reach.body.members).toHaveLength(1);
});
