/**
 * One member node in-process over a real anvil chain: the consent relay API, its refusals (each a
 * FHIR OperationOutcome naming the reason), the log it keeps of relays, and its answer when the chain
 * is down (503 with Retry-After, quickly, never a hang).
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditEvent } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddedChain } from '../../src/chain/index.js';
import { erasePatient } from '../../src/cli/commands/patient-erase.js';
import { SUPPORTED_RESOURCE_TYPES } from '../../src/http/routes/fhir-routes.js';
import { parseTlogProof, parseVerifierKey, verifyTlogProof } from '../../src/log/index.js';
import type { RunningNode } from '../../src/node/start-node.js';
import { LOG_ENTRY_EXTENSION, verifyAuditEventCommitment } from '../../src/vault/fhir-repository.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { SYNTHEA_DIR } from '../support/shared-data.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

let solo: SoloNode;
let chain: EmbeddedChain;
let node: RunningNode;
let logVerifierKey: string;
const post = (path: string, body: string, contentType = 'application/json') =>
  node.app.request(path, { method: 'POST', headers: { 'content-type': contentType }, body });

beforeAll(async () => {
  solo = await startSoloNode();
  ({ chain, node, logVerifierKey } = solo);
});

afterAll(async () => {
  await solo?.stop();
});

async function grantFor(grantee: `0x${string}`) {
  return signGrantForNewPatient({
    chainId: 31337,
    consentRegistry: node.deployment.contracts.consentRegistry,
    grantee,
    nowSeconds: Math.floor(Date.now() / 1000),
  });
}

describe('a member node', () => {
  it('relays a patient-signed grant, answers from its index, and refuses a replay with the contract reason', async () => {
    const grantee = '0x1111111111111111111111111111111111111111';
    const grant = await grantFor(grantee);
    const created = await post('/ledger/consent/grants?wait=true', grant.body);
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ grantId: grant.grantId, receiptStatus: 'success' });

    await node.indexer.sync();
    const check = await node.app.request(
      `/ledger/consent/check?patient=${grant.patient}&grantee=${grantee}&category=laboratory&purpose=TREAT`,
    );
    expect(await check.json()).toMatchObject({ allowed: true, grantId: grant.grantId });
    const other = await node.app.request(
      `/ledger/consent/check?patient=${grant.patient}&grantee=${grantee}&category=laboratory&purpose=HRESCH`,
    );
    expect(await other.json()).toMatchObject({ allowed: false, reason: 'not-covered' });

    const replay = await post('/ledger/consent/grants', grant.body);
    expect(replay.status).toBe(409);
    const outcome = (await replay.json()) as {
      resourceType: string;
      issue: { diagnostics: string; code: string }[];
    };
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0]?.diagnostics).toMatch(/nonce was already used/);
  });

  it('refuses malformed and wrongly signed grants before sending anything', async () => {
    const grant = await grantFor('0x2222222222222222222222222222222222222222');
    const parsed = JSON.parse(grant.body) as { grant: Record<string, string>; signature: string };

    const notJson = await post('/ledger/consent/grants', '{"grant":');
    expect(notJson.status).toBe(400);
    // Since issue 13 item 5 it says where (line and column), never the text.
    expect(((await notJson.json()) as { issue: { diagnostics: string }[] }).issue[0]?.diagnostics).toBe(
      'the body is not valid JSON: line 1, column 10',
    );

    const wrongType = await post('/ledger/consent/grants', grant.body, 'text/plain');
    expect(wrongType.status).toBe(400);

    const window = await post(
      '/ledger/consent/grants',
      JSON.stringify({ ...parsed, grant: { ...parsed.grant, notAfter: parsed.grant.notBefore } }),
    );
    expect(window.status).toBe(400);
    expect(await window.text()).toContain('notAfter must be later than notBefore');

    const tampered = await post(
      '/ledger/consent/grants',
      JSON.stringify({ ...parsed, grant: { ...parsed.grant, purposes: '3' } }),
    );
    expect(tampered.status).toBe(400);
    expect(await tampered.text()).toContain("the signature was not made by the patient's key");

    const outbox = await node.ledger.outbox.counts();
    expect(outbox.failed).toBe(0);
  });

  it('logs each relay and serves a tlog-proof that verifies offline', async () => {
    const deadline = Date.now() + 10_000;
    let proofText = '';
    while (Date.now() < deadline) {
      const response = await node.app.request('/log/proof/0');
      if (response.status === 200) {
        proofText = await response.text();
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const verified = verifyTlogProof(parseTlogProof(proofText), {
      logVerifier: parseVerifierKey(logVerifierKey),
    });
    expect(verified.index).toBe(0);
    const entry = JSON.parse(new TextDecoder().decode(parseTlogProof(proofText).extra)) as Record<
      string,
      string
    >;
    expect(entry).toMatchObject({ type: 'consent-relay', action: 'grant' });
  });

  it('serves FHIR R4 over the encrypted vault, every error an OperationOutcome', async () => {
    const who = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-purpose': 'TREAT' };
    const fhir = (path: string, init: RequestInit = {}) =>
      node.app.request(`/fhir${path}`, {
        ...init,
        headers: { ...who, ...(init.headers as Record<string, string>) },
      });
    const patient = {
      resourceType: 'Patient',
      name: [{ family: 'Quux', given: ['Ada'] }],
      birthDate: '1970-02-28',
    };

    const metadata = await node.app.request('/fhir/metadata');
    expect(((await metadata.json()) as { resourceType: string }).resourceType).toBe('CapabilityStatement');
    const anonymous = await node.app.request('/fhir/Patient/x');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Bearer');

    const created = await fhir('/Patient', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(patient),
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('etag')).toBe('W/"1"');
    const { id } = (await created.json()) as { id: string };
    expect(created.headers.get('location')).toContain(`/fhir/Patient/${id}/_history/1`);
    expect(((await (await fhir(`/Patient/${id}`)).json()) as { birthDate: string }).birthDate).toBe(
      '1970-02-28',
    );

    // Conditional create: a second identical request finds the first instead of creating again.
    const withIdentifier = { ...patient, identifier: [{ system: 'urn:test:mrn', value: 'MRN-42' }] };
    const conditional = (n: number) =>
      Promise.all(
        Array.from({ length: n }, () =>
          fhir('/Patient', {
            method: 'POST',
            headers: {
              'content-type': 'application/fhir+json',
              'if-none-exist': 'identifier=urn:test:mrn|MRN-42',
            },
            body: JSON.stringify(withIdentifier),
          }),
        ),
      );
    const statuses = (await conditional(3)).map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 201]);

    const stale = await fhir(`/Patient/${id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json', 'if-match': 'W/"7"' },
      body: JSON.stringify({ ...patient, id }),
    });
    expect(stale.status).toBe(412);
    const bad = await fhir('/Patient', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ ...patient, birthDate: '2023-02-30' }),
    });
    expect(bad.status).toBe(400);
    const outcome = (await bad.json()) as { resourceType: string; issue: { expression?: string[] }[] };
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue.some((i) => i.expression?.includes('Patient.birthDate'))).toBe(true);
    expect((await fhir('/Spaceship/1')).status).toBe(404);

    // The patient's access history: each AuditEvent with its log entry, checkable offline.
    const trail = (await (
      await fhir(`/AuditEvent?patient=${id}&_count=50`, {
        headers: { 'x-careledger-identity': `Patient/${id}` },
      })
    ).json()) as {
      entry: { resource: AuditEvent }[];
    };
    expect(trail.entry.length).toBeGreaterThanOrEqual(2);
    for (const { resource } of trail.entry) {
      const ext = resource.extension?.find((e) => e.url === LOG_ENTRY_EXTENSION);
      const proofPath = ext?.extension?.find((e) => e.url === 'proof')?.valueUrl as string;
      let proofText = '';
      for (let tries = 0; tries < 50 && proofText === ''; tries += 1) {
        const proof = await node.app.request(proofPath);
        if (proof.status === 200) proofText = await proof.text();
        else await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const parsed = parseTlogProof(proofText);
      verifyTlogProof(parsed, { logVerifier: parseVerifierKey(logVerifierKey) });
      verifyAuditEventCommitment(resource, parsed.extra as Uint8Array);
      const tampered = { ...resource, purposeOfEvent: [{ coding: [{ code: 'HMARKT' }] }] };
      expect(() => verifyAuditEventCommitment(tampered, parsed.extra as Uint8Array)).toThrow(
        /does not match/,
      );
    }

    const observation = await fhir('/Observation', {
      method: 'POST',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'pulse' },
        subject: { reference: `Patient/${id}` },
      }),
    });
    expect(observation.status).toBe(201);
    const everything = (await (await fhir(`/Patient/${id}/$everything`)).json()) as {
      entry: { resource: { resourceType: string } }[];
    };
    // A clinician's $everything has the clinical record, not the audit trail (the patient's and the
    // privacy officer's to see).
    expect(everything.entry.map((e) => e.resource.resourceType)).toEqual(['Patient', 'Observation']);
    const own = (await (
      await fhir(`/Patient/${id}/$everything`, { headers: { 'x-careledger-identity': `Patient/${id}` } })
    ).json()) as { entry: { resource: { resourceType: string } }[] };
    expect(own.entry.map((e) => e.resource.resourceType)).toEqual(
      expect.arrayContaining(['Patient', 'Observation', 'AuditEvent']),
    );

    expect((await fhir(`/Patient/${id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fhir(`/Patient/${id}`)).status).toBe(410);
    const history = (await (await fhir(`/Patient/${id}/_history`)).json()) as { total: number };
    expect(history.total).toBe(2);
  });

  it('applies a Synthea transaction Bundle atomically, with its urn:uuid references rewritten', async () => {
    const headers = {
      'x-careledger-identity': 'Practitioner/dr-1',
      'content-type': 'application/fhir+json',
    };
    const source = JSON.parse(
      readFileSync(join(SYNTHEA_DIR, 'Andy_Schaden_d630c6ca-046c-470a-8f3a-4dbc3850e7ae.json'), 'utf8'),
    ) as { entry: { resource: { resourceType: string } }[] };
    // Only the types this node serves; CarePlan goes too, as it points at Goals (not served).
    const served = new Set<string>(SUPPORTED_RESOURCE_TYPES.filter((t) => t !== 'CarePlan'));
    const bundle = { ...source, entry: source.entry.filter((e) => served.has(e.resource.resourceType)) };
    const response = await node.app.request('/fhir', {
      method: 'POST',
      headers,
      body: JSON.stringify(bundle),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    const result = (await response.json()) as {
      type: string;
      entry: { response: { status: string; location: string } }[];
    };
    expect(result.type).toBe('transaction-response');
    expect(result.entry).toHaveLength(bundle.entry.length);
    expect(result.entry.every((e) => e.response.status === '201 Created')).toBe(true);
    const observationAt = result.entry.find((e) => e.response.location.startsWith('Observation/'))?.response
      .location;
    const read = (await (
      await node.app.request(`/fhir/${observationAt?.split('/_history')[0]}`, { headers })
    ).json()) as { subject: { reference: string } };
    expect(read.subject.reference).toMatch(/^Patient\/[0-9a-f-]{36}$/);

    // One bad entry: nothing of the transaction is written.
    const before = node.app.request('/fhir/Observation?_total=accurate&_count=1', { headers });
    const total = ((await (await before).json()) as { total: number }).total;
    const broken = structuredClone(bundle) as { entry: { resource: Record<string, unknown> }[] };
    const target = broken.entry.find((e) => e.resource.resourceType === 'Observation');
    if (target !== undefined) target.resource.status = 'not-a-status';
    const refused = await node.app.request('/fhir', {
      method: 'POST',
      headers,
      body: JSON.stringify(broken),
    });
    expect(refused.status).toBe(400);
    const after = (await (
      await node.app.request('/fhir/Observation?_total=accurate&_count=1', { headers })
    ).json()) as {
      total: number;
    };
    expect(after.total).toBe(total);
  });

  it("crypto-shreds a patient on the operator's word: 410 Gone, out of every search, the audit trail and proofs intact", async () => {
    const clinicianHeaders = {
      'x-careledger-identity': 'Practitioner/dr-1',
      'content-type': 'application/fhir+json',
    };
    const create = async (resource: object) =>
      (await (
        await node.app.request(`/fhir/${(resource as { resourceType: string }).resourceType}`, {
          method: 'POST',
          headers: clinicianHeaders,
          body: JSON.stringify(resource),
        })
      ).json()) as { id: string };
    const { id } = await create({ resourceType: 'Patient', name: [{ family: 'Erasable' }] });
    const obs = await create({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'pulse' },
      subject: { reference: `Patient/${id}` },
    });
    const get = (path: string, who = 'Practitioner/dr-1', roles?: string) =>
      node.app.request(`/fhir${path}`, {
        headers: {
          'x-careledger-identity': who,
          ...(roles === undefined ? {} : { 'x-careledger-roles': roles }),
        },
      });
    expect((await get(`/Observation/${obs.id}`)).status).toBe(200);

    const tokenFile = join(solo.dir, 'solo', 'admin.token');
    const erased = await erasePatient(id, { dataDir: solo.dir, node: 'solo', url: node.url, tokenFile });
    expect(erased).toMatchObject({ patient: `Patient/${id}`, alreadyErased: false });
    expect(erased.keyVersions).toBeGreaterThanOrEqual(1);

    const gone = await get(`/Patient/${id}`);
    expect(gone.status).toBe(410);
    expect(((await gone.json()) as { resourceType: string }).resourceType).toBe('OperationOutcome');
    expect((await get(`/Observation/${obs.id}`)).status).toBe(410);
    const search = (await (await get(`/Observation?subject=Patient/${id}&_total=accurate`)).json()) as {
      total: number;
    };
    expect(search.total).toBe(0);
    expect(
      ((await (await get('/Patient?family=Erasable&_total=accurate')).json()) as { total: number }).total,
    ).toBe(0);

    // Who accessed the records stays visible to the privacy officer, each entry still proven in the log.
    const trail = (await (
      await get(`/AuditEvent?patient=${id}&_count=100`, 'Practitioner/po-1', 'privacy-officer')
    ).json()) as {
      entry: { resource: AuditEvent }[];
    };
    const subtypes = trail.entry.map((e) => e.resource.entity?.[0]?.what?.reference ?? '');
    expect(subtypes).toContain(`Patient/${id}/$erase`);
    const last = trail.entry.at(-1)?.resource as AuditEvent;
    const index = last.extension
      ?.find((e) => e.url === LOG_ENTRY_EXTENSION)
      ?.extension?.find((e) => e.url === 'index')?.valueInteger as number;
    let proof: Response | undefined;
    for (let i = 0; i < 50; i++) {
      proof = await node.app.request(`/log/proof/${index}`);
      if (proof.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const parsed = parseTlogProof(await (proof as Response).text());
    verifyTlogProof(parsed, { logVerifier: parseVerifierKey(logVerifierKey) });
    verifyAuditEventCommitment(last, parsed.extra ?? new Uint8Array());

    expect(
      (await erasePatient(id, { dataDir: solo.dir, node: 'solo', url: node.url, tokenFile })).alreadyErased,
    ).toBe(true);
    await expect(
      erasePatient('no-such-patient', { dataDir: solo.dir, node: 'solo', url: node.url, tokenFile }),
    ).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
  });

  it('answers 503 with Retry-After, quickly, when the chain is down', async () => {
    await chain.stop();
    const grant = await grantFor('0x3333333333333333333333333333333333333333');
    const started = Date.now();
    const response = await post('/ledger/consent/grants', grant.body);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(await response.text()).toContain('retry later');
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
