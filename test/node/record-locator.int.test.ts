/**
 * The record locator end to end, one member node over a real embedded chain: a Patient whose ledger
 * key is enrolled (after a create or a transaction stored it) is announced as a pointer on RecordLocator
 * exactly once, which the node's index serves at /ledger/locations/{address}; erasing the patient
 * withdraws it. With the chain down the FHIR write still succeeds, and the next start announces
 * what was stored meanwhile.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Address, LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEDGER_ADDRESS_SYSTEM } from '../../src/access/index.js';
import { type RunningNode, startNode } from '../../src/node/start-node.js';
import { enrolPatientKeyInApp } from '../support/enrol-patient-key.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

let solo: SoloNode;
let node: RunningNode;

const clinician = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-purpose': 'TREAT' };

const newKey = (): LocalAccount => privateKeyToAccount(generatePrivateKey());

const patient = (address?: Address, id?: string) => ({
  resourceType: 'Patient',
  ...(id === undefined ? {} : { id }),
  ...(address === undefined
    ? {}
    : { identifier: [{ system: LEDGER_ADDRESS_SYSTEM, value: address.toLowerCase() }] }),
  name: [{ family: 'Locator', given: ['Test'] }],
  birthDate: '1980-04-01',
});

/** Links the patient's key the way the node allows: the patient signs the node's challenge (issue 14 item 12). */
async function enrol(id: string, key: LocalAccount): Promise<void> {
  await enrolPatientKeyInApp(node.app, id, key, clinician);
}

/** POSTs a Patient and enrols its key; returns the created Patient. */
async function createEnrolled(key: LocalAccount) {
  const created = await fhir('POST', '/Patient', patient());
  expect(created.status).toBe(201);
  await enrol(created.body.id as string, key);
  return created;
}

async function fhir(method: string, path: string, body: unknown) {
  const response = await node.app.request(`/fhir${path}`, {
    method,
    headers: { ...clinician, 'content-type': 'application/fhir+json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function locations(address: string) {
  const response = await node.app.request(`/ledger/locations/${address}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Polls the node's index (syncing it each time) until `ok`, or fails at the deadline. */
async function waitForLocations(address: Address, ok: (members: unknown[]) => boolean) {
  const deadline = Date.now() + 30_000;
  let last: unknown[] = [];
  while (Date.now() < deadline) {
    await node.indexer.sync();
    last = (await locations(address)).body.members as unknown[];
    if (ok(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`locations of the patient never matched; last: ${JSON.stringify(last)}`);
}

/** The outbox entries labelled `label`, read from the node's own database. */
async function outboxCount(label: string): Promise<number> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(join(solo.dir, 'solo', 'node.db'), { readonly: true });
  try {
    return (db.prepare('SELECT COUNT(*) AS n FROM outbox WHERE label = ?').get(label) as { n: number }).n;
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  solo = await startSoloNode();
  node = solo.node;
});

afterAll(async () => {
  await node?.close();
  await solo?.chain.stop();
  if (solo !== undefined) rmSync(solo.dir, { recursive: true, force: true });
});

describe('the record locator', () => {
  it('announces a stored Patient with a ledger address once, and serves it at /ledger/locations', async () => {
    const key = newKey();
    const address = key.address;
    expect(await locations(address)).toEqual({ status: 200, body: { patient: address, members: [] } });

    const created = await createEnrolled(key);
    const members = await waitForLocations(address, (m) => m.length > 0);
    expect(members).toEqual([
      {
        address: node.ledger.address,
        name: 'Solo Clinic',
        fhirBaseUrl: 'http://127.0.0.1:1/fhir',
        role: 'provider',
      },
    ]);
    // Any spelling of the address finds it; the answer is checksummed.
    expect((await locations(address.toLowerCase())).body).toMatchObject({ patient: address, members });

    // Updating the Patient again does not announce again (the index and the node's memory both know).
    const id = created.body.id as string;
    expect((await fhir('PUT', `/Patient/${id}`, patient(address, id))).status).toBe(200);
    expect(await outboxCount('announceRecords')).toBe(1);
  });

  it('announces a Patient a transaction Bundle stored, once its key is enrolled', async () => {
    const key = newKey();
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:6f1c1d1e-0a8b-4c55-9a43-2b1b4c2a9e10',
          resource: patient(),
          request: { method: 'POST', url: 'Patient' },
        },
      ],
    };
    const stored = await fhir('POST', '', bundle);
    expect(stored.status).toBe(200);
    const location = (stored.body.entry as { response: { location: string } }[])[0]?.response.location ?? '';
    await enrol(/Patient\/([^/]+)/.exec(location)?.[1] ?? '', key);
    await waitForLocations(key.address, (m) => m.length === 1);
  });

  it('answers 400 with an OperationOutcome for a malformed address', async () => {
    for (const bad of ['0x1234', 'not-an-address', `0x${'g'.repeat(40)}`]) {
      const answer = await locations(bad);
      expect(answer.status).toBe(400);
      expect(answer.body.resourceType).toBe('OperationOutcome');
    }
  });

  it('withdraws the pointer when the patient is erased', async () => {
    const key = newKey();
    const address = key.address;
    const created = await createEnrolled(key);
    await waitForLocations(address, (m) => m.length === 1);
    const token = readFileSync(join(solo.dir, 'solo', 'admin.token'), 'utf8').trim();
    const erased = await node.app.request(`/admin/patients/${created.body.id as string}/erase`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(erased.status).toBe(200);
    await waitForLocations(address, (m) => m.length === 0);
  });

  it('stores while the chain is down, and announces once it is back', async () => {
    const key = newKey();
    const address = key.address;
    await solo.chain.stop();
    // The FHIR write does not wait for the ledger: the outbox refuses, the announce is deferred.
    await createEnrolled(key);
    await solo.chain.start();
    await waitForLocations(address, (m) => m.length === 1);
  });

  it('announces at start what a previous run stored but did not announce', async () => {
    const key = newKey();
    const address = key.address;
    await solo.chain.stop();
    await createEnrolled(key);
    await solo.chain.start();
    // Closing forgets the deferred announce, as a crash would; the start-up sweep must find it.
    await node.close();
    node = await startNode(join(solo.dir, 'solo'), { log: () => undefined, port: 0 });
    await waitForLocations(address, (m) => m.length === 1);
  });
});
