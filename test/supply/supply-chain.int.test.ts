/**
 * Issue 19 end to end on a real chain with three in-process members: packs commissioned, shipped and
 * received through EPCIS capture; verification; the dispense check (cloned serial, recalled lot,
 * expired pack, bad check digit); a recall reaching the patients; malformed EPCIS as problem+json.
 */
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../src/node/start-node.js';
import { formatGs1DigitalLink, formatSgtinUri } from '../../src/supply/gs1/index.js';
import { lotKeyOf, packKeyOf, registerSupplyCommands } from '../../src/supply/index.js';
import { type SupplyConsortium, startSupplyConsortium } from '../support/start-supply-consortium.js';

const GTIN = '09506000134352';
const BAD_GTIN = '09506000134353';
const STAFF = { 'x-careledger-identity': 'Practitioner/pharmacist-1', 'x-careledger-roles': 'clinician' };
// biome-ignore lint/suspicious/noExplicitAny: the tests read JSON answers loosely
type Json = Record<string, any>;
let c: SupplyConsortium;
let clock = 0;

function supplyKeyOf(node: RunningNode) {
  const supply = node.supply;
  if (supply === undefined) throw new Error('the node has no supply module');
  return supply;
}

/** A distinct eventTime per event, so no two events hash alike. */
const nextTime = () => new Date(Date.UTC(2026, 11, 1, 8, 0, clock++)).toISOString();

const epcisDocument = (events: unknown[]) => ({
  '@context': ['https://ref.gs1.org/standards/epcis/epcis-context.jsonld'],
  type: 'EPCISDocument',
  schemaVersion: '2.0',
  creationDate: '2026-12-01T08:00:00Z',
  epcisBody: { eventList: events },
});

const objectEvent = (serials: string[], bizStep: string, extra: Record<string, unknown> = {}) => ({
  type: 'ObjectEvent',
  eventTime: nextTime(),
  eventTimeZoneOffset: '+00:00',
  epcList: serials.map((serial) => formatSgtinUri(GTIN, serial)),
  action: 'OBSERVE',
  bizStep,
  ...extra,
});

const commissioning = (serials: string[], lot: string, expiry: string) =>
  objectEvent(serials, 'commissioning', {
    action: 'ADD',
    disposition: 'active',
    bizLocation: { id: 'https://id.gs1.org/414/9506000000007' },
    ilmd: { 'cbvmda:lotNumber': lot, 'cbvmda:itemExpirationDate': expiry },
  });

const shipping = (serials: string[], to: RunningNode) =>
  objectEvent(serials, 'shipping', {
    disposition: 'in_transit',
    destinationList: [{ type: 'owning_party', destination: `urn:careledger:member:${to.ledger.address}` }],
  });

async function call(node: RunningNode, method: string, path: string, body?: unknown, headers = STAFF) {
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
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: (text === '' ? undefined : JSON.parse(text)) as Json,
  };
}

const capture = (node: RunningNode, events: unknown[]) =>
  call(node, 'POST', '/epcis/capture', epcisDocument(events));

async function createResource(resource: Record<string, unknown>): Promise<string> {
  const response = await call(c.pharmacy, 'POST', `/fhir/${resource.resourceType}`, resource);
  expect(response.status, JSON.stringify(response.body)).toBe(201);
  return response.body.id as string;
}

function dispense(
  patientId: string,
  serial: string,
  lot: string,
  expiry: string,
  options: { gtin?: string; prescription?: string } = {},
) {
  return call(c.pharmacy, 'POST', '/fhir/MedicationDispense', {
    resourceType: 'MedicationDispense',
    status: 'completed',
    contained: [
      {
        resourceType: 'Medication',
        id: 'pack',
        identifier: [
          { system: 'https://www.gs1.org/gtin', value: options.gtin ?? GTIN },
          { system: 'https://www.gs1.org/serial', value: serial },
        ],
        batch: { lotNumber: lot, expirationDate: expiry },
      },
    ],
    medicationReference: { reference: '#pack' },
    subject: { reference: `Patient/${patientId}` },
    ...(options.prescription === undefined
      ? {}
      : { authorizingPrescription: [{ reference: `MedicationRequest/${options.prescription}` }] }),
  });
}

const outcomeText = (body: Json) => JSON.stringify(body.issue);

beforeAll(async () => {
  c = await startSupplyConsortium();
}, 120_000);

afterAll(async () => {
  await c?.stop();
});

describe('supply chain across three members', () => {
  it('captures, verifies, refuses bad packs at dispense and reaches the patients of a recall', async () => {
    // Commissioning at the manufacturer: S1-S3, S5, S6 in lot L1; S4 in lot L0, long expired.
    const commissioned = await capture(c.manufacturer, [
      commissioning(['S1', 'S2', 'S3', 'S5', 'S6'], 'L1', '2030-06-30'),
      commissioning(['S4'], 'L0', '2020-01-31'),
    ]);
    expect(commissioned.status, JSON.stringify(commissioned.body)).toBe(202);
    expect(commissioned.body.events).toHaveLength(2);
    expect(commissioned.body.events[0].eventHash).toMatch(/^ni:\/\/\/sha-256;[0-9a-f]{64}\?ver=CBV2\.0$/);
    expect(commissioned.body.events[0].logIndex).toBeTypeOf('number');
    expect(commissioned.body.events[0].ledger).toHaveLength(5);

    expect(
      (
        await capture(c.manufacturer, [
          shipping(['S1', 'S2', 'S3', 'S4', 'S6'], c.pharmacy),
          shipping(['S5'], c.wholesaler),
        ])
      ).status,
    ).toBe(202);
    expect(
      (await capture(c.wholesaler, [objectEvent(['S5'], 'receiving'), shipping(['S5'], c.pharmacy)])).status,
    ).toBe(202);
    expect(
      (await capture(c.pharmacy, [objectEvent(['S1', 'S2', 'S3', 'S4', 'S5'], 'receiving')])).status,
    ).toBe(202);

    // Received by a member it was not shipped to: refused, and the pack is flagged on the ledger.
    const stolen = await capture(c.wholesaler, [objectEvent(['S6'], 'receiving')]);
    expect(stolen.status).toBe(400);
    expect(stolen.type).toContain('application/problem+json');
    expect(stolen.body).toMatchObject({ type: 'epcisException:ValidationException', reason: 'suspect' });
    expect(await supplyKeyOf(c.pharmacy).ledger.pack(packKeyOf(c.supplyKey, GTIN, 'S6'))).toMatchObject({
      suspect: true,
    });

    // EPCIS query at the manufacturer with the standard filters.
    const s1 = encodeURIComponent(formatSgtinUri(GTIN, 'S1'));
    const found = await call(c.manufacturer, 'GET', `/epcis/events?EQ_bizStep=commissioning&MATCH_epc=${s1}`);
    expect(found.status).toBe(200);
    expect(found.body.type).toBe('EPCISQueryDocument');
    expect(found.body.epcisBody.queryResults.resultsBody.eventList).toHaveLength(1);
    const shipped = await call(
      c.manufacturer,
      'GET',
      `/epcis/events?eventType=ObjectEvent&EQ_bizStep=urn:epcglobal:cbv:bizstep:shipping&MATCH_anyEPC=${s1}`,
    );
    expect(shipped.body.epcisBody.queryResults.resultsBody.eventList).toHaveLength(1);
    const located = await call(
      c.manufacturer,
      'GET',
      `/epcis/events?EQ_bizLocation=https://id.gs1.org/414/9506000000007&LT_eventTime=2026-12-01T08:00:01Z`,
    );
    expect(located.body.epcisBody.queryResults.resultsBody.eventList).toHaveLength(1);

    // Verification at the pharmacy, with the custody steps it took part in.
    const verified = await call(c.pharmacy, 'POST', '/supply/verify', {
      digitalLink: formatGs1DigitalLink({ gtin: GTIN, serial: 'S5', lot: 'L1', expiry: '2030-06-30' }),
    });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ verdict: 'verified', data: { verified: true } });
    expect(verified.body.custody.map((step: { event: string }) => step.event)).toEqual([
      'PackShipped',
      'PackReceived',
    ]);
    expect(verified.body.otherSteps).toBe(3);
    const wrongLot = await call(c.pharmacy, 'POST', '/supply/verify', {
      gtin: GTIN,
      serial: 'S5',
      lot: 'L9',
    });
    expect(wrongLot.body).toMatchObject({
      verdict: 'lot-mismatch',
      data: { verified: false, verificationFailureReason: 'No_match_GTIN_Serial_Lot' },
    });
    const unknown = await call(c.pharmacy, 'POST', '/supply/verify', { datamatrix: `]d201${GTIN}21NOPE` });
    expect(unknown.body).toMatchObject({
      verdict: 'no-match-gtin-serial',
      data: { verificationFailureReason: 'No_match_GTIN_Serial' },
    });

    // Dispensing: a good pack, then the same serial again (a clone).
    const practitioner = await createResource({
      resourceType: 'Practitioner',
      name: [{ family: 'Prescriber' }],
    });
    const alice = await createResource({ resourceType: 'Patient', name: [{ family: 'Alpha' }] });
    const bob = await createResource({ resourceType: 'Patient', name: [{ family: 'Beta' }] });
    const prescription = await createResource({
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: `Patient/${bob}` },
      medicationCodeableConcept: { text: 'a medicine' },
      requester: { reference: `Practitioner/${practitioner}` },
    });
    const first = await dispense(alice, 'S1', 'L1', '2030-06-30');
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const clone = await dispense(alice, 'S1', 'L1', '2030-06-30');
    expect(clone.status).toBe(422);
    expect(outcomeText(clone.body)).toContain('supply-verdict: already-dispensed');
    await c.pharmacy.ledger.outbox.drain(30_000);
    expect(await supplyKeyOf(c.pharmacy).ledger.pack(packKeyOf(c.supplyKey, GTIN, 'S1'))).toMatchObject({
      status: 'dispensed',
      suspect: true,
    });

    const second = await dispense(bob, 'S2', 'L1', '2030-06-30', { prescription });
    expect(second.status, JSON.stringify(second.body)).toBe(201);

    // Expired pack, and a GTIN with a bad check digit.
    const expired = await dispense(bob, 'S4', 'L0', '2020-01-31');
    expect(expired.status).toBe(422);
    expect(outcomeText(expired.body)).toContain('supply-verdict: expired');
    const badDigit = await dispense(bob, 'S7', 'L1', '2030-06-30', { gtin: BAD_GTIN });
    expect(badDigit.status).toBe(400);
    expect(outcomeText(badDigit.body)).toMatch(/check digit/i);
    const badScan = await call(c.pharmacy, 'POST', '/supply/verify', { datamatrix: `(01)${BAD_GTIN}(21)S7` });
    expect(badScan.status).toBe(400);
    expect(outcomeText(badScan.body)).toMatch(/check digit/i);

    // The manufacturer recalls lot L1; a pack of it is refused afterwards.
    const recall = await call(c.manufacturer, 'POST', '/supply/recalls', { gtin: GTIN, lot: 'L1' });
    expect(recall.status, JSON.stringify(recall.body)).toBe(202);
    const afterRecall = await dispense(bob, 'S3', 'L1', '2030-06-30');
    expect(afterRecall.status).toBe(422);
    expect(outcomeText(afterRecall.body)).toContain('supply-verdict: recalled');

    // The pharmacy's follower reaches Alice and Bob (portal notice, Communication) and Bob's prescriber.
    await c.pharmacy.ledger.outbox.drain(30_000);
    // (the node's own follower may have handled it already: the call returns once it is handled)
    await supplyKeyOf(c.pharmacy).recalls.follow();
    for (const patient of [alice, bob]) {
      const notices = await call(c.pharmacy, 'GET', '/notifications', undefined, {
        'x-careledger-identity': `Patient/${patient}`,
      } as never);
      expect(notices.body.notifications.map((n: { kind: string }) => n.kind)).toContain('supply-recall');
      const communications = await call(c.pharmacy, 'GET', `/fhir/Communication?subject=Patient/${patient}`);
      expect(communications.body.total ?? communications.body.entry?.length).toBe(1);
    }
    const prescriberNotices = await call(c.pharmacy, 'GET', '/notifications', undefined, {
      'x-careledger-identity': `Practitioner/${practitioner}`,
      'x-careledger-roles': 'clinician',
    });
    expect(
      prescriberNotices.body.notifications.some((n: { subject: string }) =>
        n.subject.startsWith('DetectedIssue/'),
      ),
    ).toBe(true);
    expect(await supplyKeyOf(c.pharmacy).recalls.follow()).toBe(0);

    // The manufacturer learns a count per member, never who.
    await c.pharmacy.ledger.outbox.drain(30_000);
    const reach = await call(c.manufacturer, 'GET', `/supply/recalls/reach?gtin=${GTIN}&lot=L1`);
    expect(reach.body).toMatchObject({
      patients: 2,
      members: [{ member: c.pharmacy.ledger.address, patients: 2 }],
    });
    expect(reach.body.lot).toBe(lotKeyOf(c.supplyKey, GTIN, 'L1'));
  }, 180_000);

  it('answers malformed EPCIS documents and queries with EPCIS problem details', async () => {
    const noOffset = epcisDocument([
      { ...objectEvent(['X1'], 'commissioning'), eventTimeZoneOffset: undefined },
    ]);
    const missing = await call(c.manufacturer, 'POST', '/epcis/capture', noOffset);
    expect(missing.status).toBe(400);
    expect(missing.type).toContain('application/problem+json');
    expect(missing.body).toMatchObject({
      type: 'epcisException:ValidationException',
      status: 400,
      event: 0,
      instance: '/epcis/capture',
    });
    const notDocument = await call(c.manufacturer, 'POST', '/epcis/capture', { type: 'EPCISQueryDocument' });
    expect(notDocument.body).toMatchObject({
      type: 'epcisException:ValidationException',
      reason: 'missing-context',
    });
    const noLot = await capture(c.manufacturer, [objectEvent(['X2'], 'commissioning', { action: 'ADD' })]);
    expect(noLot.body).toMatchObject({
      type: 'epcisException:ValidationException',
      reason: 'commissioning-ilmd',
    });
    const query = await call(c.manufacturer, 'GET', '/epcis/events?EQ_colour=red');
    expect(query.status).toBe(400);
    expect(query.body).toMatchObject({ type: 'epcisException:QueryParameterException' });
    const patient = await call(c.manufacturer, 'GET', '/epcis/events', undefined, {
      'x-careledger-identity': 'Patient/p1',
    } as never);
    expect(patient.status).toBe(403);
    expect(patient.body).toMatchObject({ type: 'epcisException:SecurityException' });
  });

  it('runs a pack through `careledger supply` against the nodes', async () => {
    const lines: string[] = [];
    const cli = async (node: RunningNode, ...args: string[]) => {
      const program = new Command().exitOverride();
      registerSupplyCommands(program, { write: (text: string) => lines.push(text) });
      await program.parseAsync(
        ['supply', ...args, '--node', node.url, '--identity', 'Practitioner/cli-user'],
        {
          from: 'user',
        },
      );
    };
    const pack = ['--gtin', GTIN, '--serial', 'C1'];
    await cli(c.manufacturer, 'commission', ...pack, '--lot', 'LC', '--expiry', '2031-01-31');
    await cli(c.manufacturer, 'ship', ...pack, '--to', c.pharmacy.ledger.address);
    await cli(c.pharmacy, 'receive', ...pack);
    expect(lines.filter((line) => line.startsWith('captured ni:///sha-256;'))).toHaveLength(3);
    await cli(c.pharmacy, 'verify', `]d201${GTIN}1731013110LC\u001d21C1`);
    expect(lines.at(-1)).toContain('"verdict": "verified"');
    await cli(c.manufacturer, 'recall', '--gtin', GTIN, '--serial', 'C1');
    await expect(
      cli(c.pharmacy, 'verify', formatGs1DigitalLink({ gtin: GTIN, serial: 'C1' })),
    ).rejects.toMatchObject({
      code: 'ERR_PRECONDITION_FAILED',
      details: { reason: 'recalled' },
    });
    await expect(cli(c.pharmacy, 'verify', `(01)${BAD_GTIN}(21)C1`)).rejects.toThrow(/check digit/i);
  }, 60_000);
});
