/**
 * Bulk `$export` on a whole member node (real chain, real HTTP on a port): another member's backend
 * service authenticates with SMART Backend Services (client_credentials, private_key_jwt) and
 * `system/*.rs` (and v1 `system/*.read`), exports with `careledger export`, and gets only what the
 * patient's ledger consent covers; the CapabilityStatement names the operations.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExport } from '../../src/cli/commands/export.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { createClientAssertion, createSigningKey } from '../../src/smart/index.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { enrolPatientKeyInApp } from '../support/enrol-patient-key.js';
import { findFreePort } from '../support/free-port.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

let solo: SoloNode;
let base: string;
let adminToken: string;
const LAB = privateKeyToAccount(generatePrivateKey());
const STAFF = { 'x-careledger-identity': 'Practitioner/dr-1', 'content-type': 'application/fhir+json' };
let granted: string;
let other: string;
const key = createSigningKey('ES384');
let clientId: string;

const request = (path: string, init: RequestInit = {}) => solo.node.app.request(path, init);

async function create(resource: Record<string, unknown>): Promise<string> {
  const response = await request(`/fhir/${resource.resourceType}`, {
    method: 'POST',
    headers: STAFF,
    body: JSON.stringify(resource),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function backendToken(scope: string): Promise<{ token: string; scope: string }> {
  const response = await request('/oauth/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await createClientAssertion({
        clientId,
        tokenEndpoint: `${base}/oauth/token`,
        privateJwk: key.privateJwk,
        now: Math.floor(Date.now() / 1000),
      }),
    }).toString(),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  const body = (await response.json()) as { access_token: string; scope: string };
  return { token: body.access_token, scope: body.scope };
}

function readNdjson(path: string): Resource[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Resource);
}

beforeAll(async () => {
  const port = await findFreePort();
  base = `http://127.0.0.1:${port}`;
  solo = await startSoloNode({ port, publicUrl: base });
  adminToken = readFileSync(join(solo.dir, 'solo', 'admin.token'), 'utf8').trim();
  const client = await request('/admin/clients', {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'Lab analytics',
      jwks: { keys: [key.publicJwk] },
      memberAddress: LAB.address,
      allowedScopes: 'system/*.rs',
    }),
  });
  expect(client.status, await client.clone().text()).toBe(201);
  clientId = ((await client.json()) as { clientId: string }).clientId;

  // One patient grants the lab their demographics on the ledger; the other grants nothing.
  const grantingKey = generatePrivateKey();
  const signed = await signGrantForNewPatient({
    patientKey: grantingKey,
    chainId: 31337,
    consentRegistry: solo.node.deployment.contracts.consentRegistry,
    grantee: LAB.address,
    categories: ['demographics'],
    purposes: ['TREAT'],
    nowSeconds: Math.floor(Date.now() / 1000) - 60,
  });
  // Each patient's ledger key is enrolled with their proof of possession (issue 14 item 12).
  granted = await create({ resourceType: 'Patient', name: [{ family: 'Granted' }] });
  await enrolPatientKeyInApp(solo.node.app, granted, grantingKey);
  other = await create({ resourceType: 'Patient', name: [{ family: 'Other' }] });
  await enrolPatientKeyInApp(solo.node.app, other, generatePrivateKey());
  for (const subject of [granted, other]) {
    await create({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
      subject: { reference: `Patient/${subject}` },
    });
  }
  const relayed = await request('/ledger/consent/grants?wait=true', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: signed.body,
  });
  expect(relayed.status, await relayed.clone().text()).toBe(201);
  await solo.node.indexer.sync();
}, 120_000);

afterAll(async () => {
  await solo?.stop();
});

describe('bulk $export on a node', () => {
  it("exports to another member's backend service only what consent covers, through the CLI", async () => {
    const { token } = await backendToken('system/*.rs');
    const outDir = join(solo.dir, 'download');
    const progress: string[] = [];
    const result = await runExport({
      nodeUrl: base,
      level: 'system',
      types: ['Patient', 'Observation'],
      outDir,
      token,
      // Instead of waiting Retry-After seconds: wait for the node's export queue.
      sleep: () => solo.node.bulkExport.service.idle(),
      progress: { write: (line: string) => progress.push(line) },
    });
    const patients = result.files.filter((f) => f.type === 'Patient').flatMap((f) => readNdjson(f.path));
    expect(patients.map((p) => p.id)).toEqual([granted]);
    // Observations are "laboratory", which was not granted.
    expect(result.files.filter((f) => f.type === 'Observation')).toEqual([]);
    expect(result.manifest.requiresAccessToken).toBe(true);
    expect(JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8'))).toEqual(result.manifest);
    expect(progress.join('')).toContain('export accepted');

    // Without the token, nothing: the files need it.
    const file = new URL(result.manifest.output[0]?.url as string);
    expect((await fetch(file)).status).toBe(401);
  });

  it('accepts the v1 system/*.read scope and refuses a token whose scopes miss a type', async () => {
    const v1 = await backendToken('system/*.read');
    expect(v1.scope).toBe('system/*.read');
    const kicked = await fetch(`${base}/fhir/$export?_type=Patient`, {
      headers: {
        authorization: `Bearer ${v1.token}`,
        prefer: 'respond-async',
        accept: 'application/fhir+json',
      },
    });
    expect(kicked.status, await kicked.clone().text()).toBe(202);
    await solo.node.bulkExport.service.idle();

    const narrow = await backendToken('system/Patient.rs');
    const refused = await fetch(`${base}/fhir/$export?_type=Observation`, {
      headers: { authorization: `Bearer ${narrow.token}`, prefer: 'respond-async' },
    });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    // The CLI says so with exit code 77 (EX_NOPERM); a bad request is 65 (EX_DATAERR).
    const cli = (types: string[]) =>
      runExport({
        nodeUrl: base,
        level: 'system',
        types,
        outDir: join(solo.dir, 'refused'),
        token: narrow.token,
        quiet: true,
      }).then(() => 0, exitCodeFor);
    expect(await cli(['Observation'])).toBe(77);
    expect(await cli(['NotAType'])).toBe(65);
  });

  it('says so in the CapabilityStatement', async () => {
    const metadata = (await (await request('/fhir/metadata')).json()) as {
      instantiates: string[];
      rest: { operation: { name: string; definition: string }[] }[];
    };
    expect(metadata.instantiates).toContain('http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data');
    expect(metadata.rest[0]?.operation.map((o) => o.name)).toEqual(
      expect.arrayContaining(['export', 'patient-export', 'group-export']),
    );
  });
});
