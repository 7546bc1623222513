/**
 * Records move between members only with consent (Core 5), over real HTTP between real node
 * processes of the demo consortium on a real anvil chain:
 * - the lab announces the patient on RecordLocator; the hospital finds it there;
 * - without a grant the hospital's pull is refused by the lab, and the lab audits the denial;
 * - with the patient's signed grant the pull verifies each version against the lab's anchored log,
 *   keeps the records with meta.source and a Provenance naming the lab; a second pull stores nothing
 *   twice; after the signed revocation the next pull is refused again;
 * - the patient, with assertions signed by their own key, sees records and access history from every
 *   member, each with its proof status;
 * - what a member might do wrong is caught: altered content, a proof from another log, a checkpoint
 *   older than the anchor, a checkpoint forking from the anchor.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { type Address, hexToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { MemberLogVerifier } from '../../src/exchange/index.js';
import { createPatientAssertion } from '../../src/identity/patient-assertion.js';
import { loadDeployment } from '../../src/ledger/index.js';
import { parseCheckpoint, parseSignedNote, parseTlogProof } from '../../src/log/index.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { enrolPatientKeyOverHttp } from '../support/enrol-patient-key.js';
import { findFreePorts } from '../support/free-port.js';

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-exchange-'));
let dev: DevConsortium;
interface Member {
  url: string;
  address: Address;
  name: string;
  logOrigin: string;
  logVerifierKey: string;
}
let hospital: Member;
let lab: Member;
const patientHex = generatePrivateKey();
const patientKey = privateKeyToAccount(patientHex);
let hospitalPatient: string;
let labPatient: string;
let labObservation: string;

const clinician = {
  'x-careledger-identity': 'Practitioner/dr-1',
  'x-careledger-roles': 'clinician',
  'content-type': 'application/fhir+json',
};
async function http(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...clinician, ...init.headers },
    ...(init.body === undefined
      ? {}
      : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
}
async function waitFor(what: string, predicate: () => Promise<boolean>, seconds = 30): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`${what}: not within ${seconds} s`);
}
interface Anchor {
  treeSize: number;
  rootHash: string;
}
/** A member's latest anchor as the hospital's ledger index has it. */
async function anchorAtHospital(of: Member): Promise<Anchor | undefined> {
  const status = await http(`${hospital.url}/ledger/anchors?origin=${encodeURIComponent(of.logOrigin)}`);
  const anchors = (status.body.anchors ?? []) as Anchor[];
  return anchors.at(-1);
}
interface PullReport {
  members: {
    member: string;
    status: string;
    kept: number;
    unchanged: number;
    refused: unknown[];
    error?: string;
    provenance?: string;
  }[];
}
const checkpointSize = (proof: string) =>
  parseCheckpoint(parseSignedNote(parseTlogProof(proof).checkpoint).text).size;
const pull = async () =>
  (
    await http(`${hospital.url}/fhir/Patient/${hospitalPatient}/$fetch-from-members?purpose=TREAT`, {
      method: 'POST',
    })
  ).body as unknown as PullReport;

beforeAll(async () => {
  const [chainPort, ...nodePorts] = await findFreePorts(4);
  dev = new DevConsortium({ dataDir, chainPort: chainPort as number, nodePorts, log: () => undefined });
  await dev.start();
  const first = dev.nodes[0]?.url as string;
  const { members } = (await (await fetch(`${first}/ledger/members`)).json()) as { members: Member[] };
  const member = (name: string): Member => {
    const m = members.find((x) => x.name.toLowerCase().includes(name)) as Member;
    const node = dev.nodes.find((n) => n.name === name);
    return { ...m, url: node?.url as string };
  };
  hospital = member('hospital');
  lab = member('lab');
  const patient = {
    resourceType: 'Patient',
    name: [{ family: 'Exchange', given: ['Pat'] }],
    birthDate: '1970-01-01',
  };
  const registrar = { 'x-careledger-identity': 'Practitioner/registrar', 'x-careledger-roles': 'registrar' };
  hospitalPatient = (await http(`${hospital.url}/fhir/Patient`, { body: patient, headers: registrar })).body
    .id as string;
  labPatient = (await http(`${lab.url}/fhir/Patient`, { body: patient, headers: registrar })).body
    .id as string;
  // At each member's desk the patient proves possession of their key (issue 14 item 12).
  await enrolPatientKeyOverHttp(`${hospital.url}/fhir`, hospitalPatient, patientKey, registrar);
  await enrolPatientKeyOverHttp(`${lab.url}/fhir`, labPatient, patientKey, registrar);
  for (const value of [5.4, 6.1]) {
    const created = await http(`${lab.url}/fhir/Observation`, {
      body: {
        resourceType: 'Observation',
        status: 'final',
        category: [
          {
            coding: [
              { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' },
            ],
          },
        ],
        code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
        subject: { reference: `Patient/${labPatient}` },
        valueQuantity: { value, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
      },
    });
    labObservation = created.body.id as string;
  }
  // The lab's records are found on the ledger, and its log is anchored past them.
  await waitFor('the lab announced on RecordLocator', async () => {
    const found = await http(`${hospital.url}/ledger/locations/${patientKey.address}`);
    const members = (found.body.members ?? []) as { address: string }[];
    return (
      members.some((m) => m.address === lab.address) && members.some((m) => m.address === hospital.address)
    );
  });
  for (const member of [lab, hospital])
    await waitFor(
      `${member.name} anchored a checkpoint`,
      async () => ((await anchorAtHospital(member))?.treeSize ?? 0) > 0,
      60,
    );
}, 180_000);

afterAll(async () => {
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('records between members', () => {
  let grant: Awaited<ReturnType<typeof signGrantForNewPatient>>;

  it('refuses without consent, and the lab audits its refusal', async () => {
    const report = await pull();
    const fromLab = report.members.find((m) => m.member === lab.address);
    expect(fromLab?.status, JSON.stringify(report)).toBe('refused');
    expect(fromLab?.kept).toBe(0);
    const audits = await http(`${lab.url}/fhir/AuditEvent?patient=Patient/${labPatient}`, {
      headers: {
        'x-careledger-identity': 'Practitioner/privacy-officer',
        'x-careledger-roles': 'privacy-officer',
      },
    });
    const denied = (
      (audits.body.entry ?? []) as {
        resource: { outcome: string; agent: { who: { reference: string } }[] };
      }[]
    )
      .map((e) => e.resource)
      .filter((a) => a.outcome === '4' && a.agent[0]?.who.reference === `Organization/${hospital.address}`);
    expect(denied.length).toBeGreaterThan(0);
  });

  it("with the patient's grant, keeps each verified version with its source and a Provenance; nothing twice", async () => {
    const deployment = loadDeployment(join(dataDir, 'chain', 'deployment.json'));
    grant = await signGrantForNewPatient({
      chainId: deployment.chainId,
      consentRegistry: deployment.contracts.consentRegistry,
      grantee: hospital.address,
      categories: ['demographics', 'laboratory'],
      purposes: ['TREAT'],
      nowSeconds: Math.floor(Date.now() / 1000),
      patientKey: patientHex,
    });
    const relayed = await http(`${hospital.url}/ledger/consent/grants?wait=true`, {
      body: grant.body,
      headers: { 'content-type': 'application/json' },
    });
    expect(relayed.status, JSON.stringify(relayed.body)).toBeLessThan(300);
    await waitFor('the lab indexed the grant', async () => {
      const check = await http(
        `${lab.url}/ledger/consent/check?patient=${patientKey.address}&grantee=${hospital.address}&category=laboratory&purpose=TREAT`,
      );
      return check.body.allowed === true;
    });
    const report = await pull();
    const fromLab = report.members.find((m) => m.member === lab.address);
    expect(fromLab?.status, JSON.stringify(report)).toBe('ok');
    expect(fromLab?.refused).toEqual([]);
    expect(fromLab?.kept).toBe(2);
    const kept = await http(`${hospital.url}/fhir/Observation/${labObservation}`);
    expect(kept.status).toBe(200);
    const meta = kept.body.meta as { source: string; tag: { code: string }[] };
    expect(meta.source).toMatch(new RegExp(`/fhir/Observation/${labObservation}/_history/1$`));
    expect(meta.tag.map((t) => t.code)).toContain(lab.address);
    expect((kept.body.subject as { reference: string }).reference).toBe(`Patient/${hospitalPatient}`);
    const provenance = await http(`${hospital.url}/fhir/${fromLab?.provenance}`);
    expect(provenance.status).toBe(200);
    expect(JSON.stringify(provenance.body.agent)).toContain(lab.address);
    expect((provenance.body.entity as { role: string }[]).every((e) => e.role === 'source')).toBe(true);
    const again = (await pull()).members.find((m) => m.member === lab.address);
    expect(again).toMatchObject({ status: 'ok', kept: 0, unchanged: 2 });
  });

  it('shows the patient their records and access history from every member, each with its proof status', async () => {
    const audiences = await http(`${hospital.url}/patient/everywhere`, {
      headers: { 'x-careledger-identity': `Patient/${hospitalPatient}` },
    });
    expect(audiences.status, JSON.stringify(audiences.body)).toBe(200);
    const members = audiences.body.members as { address: string; audience: string }[];
    expect(members.map((m) => m.address).sort()).toEqual([hospital.address, lab.address].sort());
    const assertions = await Promise.all(
      members.map(async (m) => ({
        member: m.address,
        assertion: await createPatientAssertion(hexToBytes(patientHex), {
          audience: m.audience,
          nowSeconds: Math.floor(Date.now() / 1000),
          jti: crypto.randomUUID(),
        }),
      })),
    );
    const view = await http(`${hospital.url}/patient/everywhere`, {
      body: { assertions },
      headers: { 'x-careledger-identity': `Patient/${hospitalPatient}`, 'content-type': 'application/json' },
    });
    expect(view.status, JSON.stringify(view.body)).toBe(200);
    const body = view.body as {
      members: { status: string; error?: string }[];
      records: { member: string; resource: Resource; verification: { status: string; reason?: string } }[];
      accessHistory: {
        member: string;
        auditEvent: { outcome: string };
        verification: { status: string; reason?: string };
      }[];
    };
    expect(
      body.members.every((m) => m.status === 'ok'),
      JSON.stringify(body.members),
    ).toBe(true);
    const labRecords = body.records.filter(
      (r) => r.member === lab.address && r.resource.resourceType === 'Observation',
    );
    expect(labRecords.length).toBe(2);
    // Everything served by either member is checked; records just written may wait for a checkpoint.
    const statuses = body.records.map((r) => r.verification.status);
    expect(statuses).toContain('verified');
    for (const r of body.records.filter((x) => x.verification.status === 'failed'))
      expect(r.verification.reason).toBe('not-yet-checkpointed');
    // The lab's refusal of the hospital is in the patient's history, with its proof status.
    const refusals = body.accessHistory.filter(
      (a) => a.member === lab.address && a.auditEvent.outcome === '4',
    );
    expect(refusals.length).toBeGreaterThan(0);
    expect(body.accessHistory.some((a) => a.verification.status === 'verified')).toBe(true);
    // A replayed assertion is refused (RFC 7523 §3: jti).
    const replay = await http(`${hospital.url}/patient/everywhere`, {
      body: { assertions },
      headers: { 'x-careledger-identity': `Patient/${hospitalPatient}`, 'content-type': 'application/json' },
    });
    const replayed = replay.body as { members: { status: string; error?: string }[] };
    expect(replayed.members.every((m) => m.status === 'error' && /already used/.test(m.error ?? ''))).toBe(
      true,
    );
  });

  it('catches altered content, a proof from another log, a stale checkpoint and a fork', async () => {
    const served = await http(`${lab.url}/fhir/Observation/${labObservation}`, {
      headers: { 'x-careledger-identity': `Organization/${hospital.address}` },
    });
    expect(served.status).toBe(200);
    const record = served.body as unknown as Resource;
    const labLog = (path: string) => fetch(`${lab.url}${path}`).then((r) => r.text());
    const hospitalLog = (path: string) => fetch(`${hospital.url}${path}`).then((r) => r.text());
    const verifier = (options: {
      fetchLog?: (p: string) => Promise<string>;
      anchor?: () => Promise<Anchor | undefined>;
    }) =>
      new MemberLogVerifier({
        member: lab,
        latestAnchor: options.anchor ?? (() => anchorAtHospital(lab)),
        fetchLog: options.fetchLog ?? labLog,
      });
    await waitFor(
      'the record is checkpointed',
      async () => (await verifier({}).verifyVersion(record)).status === 'verified',
    );

    const altered = {
      ...record,
      valueQuantity: { value: 99, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
    } as Resource;
    expect(await verifier({}).verifyVersion(altered)).toMatchObject({
      status: 'failed',
      reason: 'version-mismatch',
    });

    // The lab answers with the hospital's proof at the same index: another log's checkpoint.
    expect(
      await verifier({
        fetchLog: (p) => (p.startsWith('/log/proof/') ? hospitalLog(p) : labLog(p)),
      }).verifyVersion(record),
    ).toMatchObject({
      status: 'failed',
      reason: 'origin-mismatch',
    });

    // A proof kept from now is stale once the lab has anchored a larger checkpoint.
    const index = (record.meta?.extension?.[0]?.extension?.find((e) => e.url === 'index')?.valueInteger ??
      -1) as number;
    const oldProof = await labLog(`/log/proof/${index}`);
    const oldSize = checkpointSize(oldProof);
    for (let i = 0; i < 3; i++)
      await http(`${lab.url}/fhir/Patient`, {
        body: { resourceType: 'Patient', name: [{ family: `Filler${i}` }] },
        headers: { 'x-careledger-roles': 'registrar' },
      });
    await waitFor(
      'the lab anchored past the old proof',
      async () => ((await anchorAtHospital(lab))?.treeSize ?? 0) > oldSize,
      60,
    );
    expect(
      await verifier({
        fetchLog: (p) => (p.startsWith('/log/proof/') ? Promise.resolve(oldProof) : labLog(p)),
      }).verifyVersion(record),
    ).toMatchObject({ status: 'failed', reason: 'stale-checkpoint' });

    // An anchor at the same size with another root: the served checkpoint forks from the ledger's.
    const fresh = await labLog(`/log/proof/${index}`);
    const size = checkpointSize(fresh);
    expect(
      await verifier({
        anchor: async () => ({ treeSize: size, rootHash: `0x${'11'.repeat(32)}` }),
      }).verifyVersion(record),
    ).toMatchObject({ status: 'failed', reason: 'anchor-mismatch' });
    expect(await verifier({}).verifyVersion(record)).toMatchObject({ status: 'verified' });
  });

  it('after the signed revocation, the next pull is refused', async () => {
    const revoked = await http(`${hospital.url}/ledger/consent/revocations?wait=true`, {
      body: await grant.revoke(),
      headers: { 'content-type': 'application/json' },
    });
    expect(revoked.status, JSON.stringify(revoked.body)).toBeLessThan(300);
    await waitFor('the lab indexed the revocation', async () => {
      const check = await http(
        `${lab.url}/ledger/consent/check?patient=${patientKey.address}&grantee=${hospital.address}&category=laboratory&purpose=TREAT`,
      );
      return check.body.allowed === false;
    });
    const fromLab = (await pull()).members.find((m) => m.member === lab.address);
    expect(fromLab?.status).toBe('refused');
  });
});
