/**
 * Issue 19 item 5 on every write path: a MedicationDispense naming a pack is checked whether it is
 * POSTed, sent in a transaction or batch Bundle, PUT with a new id (update-as-create), conditionally
 * created, or PATCHed/updated into a completed dispense; the refusal is the same 422, and a refused
 * transaction writes nothing and keeps no claim on the good packs it named.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../src/node/start-node.js';
import { formatSgtinUri } from '../../src/supply/gs1/index.js';
import { type SupplyConsortium, startSupplyConsortium } from '../support/start-supply-consortium.js';

const GTIN = '09506000134352';
const LOT = 'LP1';
const EXPIRY = '2030-06-30';
const STAFF = { 'x-careledger-identity': 'Practitioner/pharmacist-1', 'x-careledger-roles': 'clinician' };
// biome-ignore lint/suspicious/noExplicitAny: the tests read JSON answers loosely
type Json = Record<string, any>;
let c: SupplyConsortium;
let patientId: string;
let clock = 0;

const nextTime = () => new Date(Date.UTC(2026, 11, 2, 8, 0, clock++)).toISOString();

const event = (serials: string[], bizStep: string, extra: Record<string, unknown> = {}) => ({
  type: 'ObjectEvent',
  eventTime: nextTime(),
  eventTimeZoneOffset: '+00:00',
  epcList: serials.map((serial) => formatSgtinUri(GTIN, serial)),
  action: 'OBSERVE',
  bizStep,
  ...extra,
});

async function call(node: RunningNode, method: string, path: string, body?: unknown, extra = {}) {
  const response = await node.app.request(path, {
    method,
    headers: {
      ...STAFF,
      ...extra,
      ...(body === undefined
        ? {}
        : {
            'content-type':
              method === 'PATCH'
                ? 'application/json-patch+json'
                : path.startsWith('/fhir')
                  ? 'application/fhir+json'
                  : 'application/json',
          }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? undefined : JSON.parse(text)) as Json };
}

async function capture(node: RunningNode, events: unknown[]) {
  const response = await call(node, 'POST', '/epcis/capture', {
    '@context': ['https://ref.gs1.org/standards/epcis/epcis-context.jsonld'],
    type: 'EPCISDocument',
    schemaVersion: '2.0',
    creationDate: '2026-12-02T08:00:00Z',
    epcisBody: { eventList: events },
  });
  expect(response.status, JSON.stringify(response.body)).toBe(202);
}

const medication = (serial: string, id?: string) => ({
  resourceType: 'Medication',
  ...(id === undefined ? {} : { id }),
  identifier: [
    { system: 'https://www.gs1.org/gtin', value: GTIN },
    { system: 'https://www.gs1.org/serial', value: serial },
  ],
  batch: { lotNumber: LOT, expirationDate: EXPIRY },
});

/** A dispense of the pack with this serial (contained Medication), or of a referenced Medication. */
const dispense = (pack: { serial: string } | { reference: string }, status = 'completed') => ({
  resourceType: 'MedicationDispense',
  status,
  ...('serial' in pack
    ? { contained: [medication(pack.serial, 'pack')], medicationReference: { reference: '#pack' } }
    : { medicationReference: { reference: pack.reference } }),
  subject: { reference: `Patient/${patientId}` },
});

/** The same refusal on every path: a 422 OperationOutcome whose second issue names the verdict. */
function expectRefused(outcome: Json, verdict: string) {
  expect(outcome.resourceType, JSON.stringify(outcome)).toBe('OperationOutcome');
  expect(outcome.issue[1].diagnostics).toBe(`supply-verdict: ${verdict}`);
}

const transaction = (entries: unknown[], type = 'transaction') => ({
  resourceType: 'Bundle',
  type,
  entry: entries,
});

beforeAll(async () => {
  c = await startSupplyConsortium();
  await capture(c.manufacturer, [
    event(['P1', 'P2', 'P3'], 'commissioning', {
      action: 'ADD',
      disposition: 'active',
      ilmd: { 'cbvmda:lotNumber': LOT, 'cbvmda:itemExpirationDate': EXPIRY },
    }),
    event(['P1', 'P2', 'P3'], 'shipping', {
      disposition: 'in_transit',
      destinationList: [
        { type: 'owning_party', destination: `urn:careledger:member:${c.pharmacy.ledger.address}` },
      ],
    }),
  ]);
  await capture(c.pharmacy, [event(['P1', 'P2', 'P3'], 'receiving')]);
  const patient = await call(c.pharmacy, 'POST', '/fhir/Patient', {
    resourceType: 'Patient',
    name: [{ family: 'Doe' }],
  });
  expect(patient.status).toBe(201);
  patientId = patient.body.id;
}, 180_000);

afterAll(async () => {
  await c?.stop();
});

describe('the dispense check on every write path', () => {
  it('refuses a transaction naming a bad pack, writes none of it, and keeps no claim on its good pack', async () => {
    const medicationUrl = 'urn:uuid:6f1b3a52-1f7e-4d8b-9a63-0c1e8f6f1a01';
    const refused = await call(
      c.pharmacy,
      'POST',
      '/fhir',
      transaction([
        {
          fullUrl: medicationUrl,
          resource: medication('P1'),
          request: { method: 'POST', url: 'Medication' },
        },
        {
          resource: dispense({ reference: medicationUrl }),
          request: { method: 'POST', url: 'MedicationDispense' },
        },
        {
          resource: dispense({ serial: 'NEVER-MADE' }),
          request: { method: 'POST', url: 'MedicationDispense' },
        },
      ]),
    );
    expect(refused.status).toBe(422);
    expectRefused(refused.body, 'no-match-gtin-serial');
    const medicationId = medicationUrl.slice('urn:uuid:'.length);
    expect((await call(c.pharmacy, 'GET', `/fhir/Medication/${medicationId}`)).status).toBe(404);

    // P1's claim was released: the same pack, sent alone (the Medication referenced within the Bundle), passes.
    const accepted = await call(
      c.pharmacy,
      'POST',
      '/fhir',
      transaction([
        {
          fullUrl: medicationUrl,
          resource: medication('P1'),
          request: { method: 'POST', url: 'Medication' },
        },
        {
          resource: dispense({ reference: medicationUrl }),
          request: { method: 'POST', url: 'MedicationDispense' },
        },
      ]),
    );
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    // And a second dispense of P1 in another transaction is a clone.
    const again = await call(
      c.pharmacy,
      'POST',
      '/fhir',
      transaction([
        { resource: dispense({ serial: 'P1' }), request: { method: 'POST', url: 'MedicationDispense' } },
      ]),
    );
    expect(again.status).toBe(422);
    expectRefused(again.body, 'already-dispensed');
  });

  it('refuses a bad pack in a batch entry, by update-as-create and by conditional create', async () => {
    const batch = await call(
      c.pharmacy,
      'POST',
      '/fhir',
      transaction(
        [
          {
            resource: { ...dispense({ serial: 'NEVER-1' }), id: 'batch-put-1' },
            request: { method: 'PUT', url: 'MedicationDispense/batch-put-1' },
          },
        ],
        'batch',
      ),
    );
    expect(batch.status).toBe(200);
    expect(batch.body.entry[0].response.status).toMatch(/^422/);
    expectRefused(batch.body.entry[0].response.outcome, 'no-match-gtin-serial');

    const put = await call(c.pharmacy, 'PUT', '/fhir/MedicationDispense/put-new-1', {
      ...dispense({ serial: 'NEVER-2' }),
      id: 'put-new-1',
    });
    expect(put.status).toBe(422);
    expectRefused(put.body, 'no-match-gtin-serial');
    expect((await call(c.pharmacy, 'GET', '/fhir/MedicationDispense/put-new-1')).status).toBe(404);

    const conditional = await call(
      c.pharmacy,
      'POST',
      '/fhir/MedicationDispense',
      dispense({ serial: 'NEVER-3' }),
      {
        'if-none-exist': 'identifier=none-such',
      },
    );
    expect(conditional.status).toBe(422);
    expectRefused(conditional.body, 'no-match-gtin-serial');
  });

  it('checks a dispense made completed by PATCH or update, and lets the claiming dispense be updated', async () => {
    const draft = await call(
      c.pharmacy,
      'POST',
      '/fhir/MedicationDispense',
      dispense({ serial: 'NEVER-4' }, 'preparation'),
    );
    expect(draft.status).toBe(201);
    const patched = await call(c.pharmacy, 'PATCH', `/fhir/MedicationDispense/${draft.body.id}`, [
      { op: 'replace', path: '/status', value: 'completed' },
    ]);
    expect(patched.status).toBe(422);
    expectRefused(patched.body, 'no-match-gtin-serial');
    const updated = await call(c.pharmacy, 'PUT', `/fhir/MedicationDispense/${draft.body.id}`, {
      ...draft.body,
      status: 'completed',
    });
    expect(updated.status).toBe(422);

    const good = await call(c.pharmacy, 'POST', '/fhir/MedicationDispense', dispense({ serial: 'P2' }));
    expect(good.status, JSON.stringify(good.body)).toBe(201);
    const noted = await call(c.pharmacy, 'PUT', `/fhir/MedicationDispense/${good.body.id}`, {
      ...good.body,
      note: [{ text: 'counselled' }],
    });
    expect(noted.status, JSON.stringify(noted.body)).toBe(200);
    // Another dispense cannot take P2 over by update.
    const takeover = await call(c.pharmacy, 'PUT', `/fhir/MedicationDispense/${draft.body.id}`, {
      ...dispense({ serial: 'P2' }),
      id: draft.body.id,
    });
    expect(takeover.status).toBe(422);
    expectRefused(takeover.body, 'already-dispensed');
  });
});
