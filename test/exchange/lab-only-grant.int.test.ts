/**
 * Issue 22 item 1, over real HTTP between real node processes on a real anvil chain: a patient who
 * grants the hospital only "Laboratory results" gets what they read the grant to do. The lab matches
 * the patient's ledger address to its own Patient (Patient/$identify: an id, no demographics), and the
 * hospital's pull keeps the lab results, not the lab's prescription nor the Patient; a purpose the grant
 * does not cover is refused in words naming it; without "Demographics" the lab serves no Patient and
 * no patient summary.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { loadDeployment } from '../../src/ledger/index.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { enrolPatientKeyOverHttp } from '../support/enrol-patient-key.js';
import { findFreePorts } from '../support/free-port.js';

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-lab-only-'));
let dev: DevConsortium;
interface Member {
  url: string;
  address: Address;
  name: string;
  logOrigin: string;
}
let hospital: Member;
let lab: Member;
const patientHex = generatePrivateKey();
const patientKey = privateKeyToAccount(patientHex);
let hospitalPatient: string;
let labPatient: string;
let labPrescription: string;

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
interface MemberReport {
  member: string;
  status: string;
  received: number;
  kept: number;
  refused: unknown[];
  error?: string;
  covers?: string[];
  coverage?: string;
}
const pull = async (purpose = 'TREAT') => {
  const report = (
    await http(`${hospital.url}/fhir/Patient/${hospitalPatient}/$fetch-from-members?purpose=${purpose}`, {
      method: 'POST',
    })
  ).body as unknown as { members: MemberReport[] };
  return report.members.find((m) => m.member === lab.address) as MemberReport;
};
/** The hospital, as a member, asking the lab directly (the development identity header). */
const asHospital = (purpose = 'TREAT') => ({
  'x-careledger-identity': `Organization/${hospital.address}`,
  'x-careledger-purpose': purpose,
});
const identifier = () =>
  encodeURIComponent(`https://careledger.dev/fhir/sid/ledger-address|${patientKey.address}`);

beforeAll(async () => {
  const [chainPort, ...nodePorts] = await findFreePorts(4);
  dev = new DevConsortium({ dataDir, chainPort: chainPort as number, nodePorts, log: () => undefined });
  await dev.start();
  const first = dev.nodes[0]?.url as string;
  const { members } = (await (await fetch(`${first}/ledger/members`)).json()) as { members: Member[] };
  const member = (name: string): Member => {
    const m = members.find((x) => x.name.toLowerCase().includes(name)) as Member;
    return { ...m, url: dev.nodes.find((n) => n.name === name)?.url as string };
  };
  hospital = member('hospital');
  lab = member('lab');
  const patient = {
    resourceType: 'Patient',
    name: [{ family: 'Labonly', given: ['Lee'] }],
    birthDate: '1980-02-02',
  };
  const registrar = { 'x-careledger-identity': 'Practitioner/registrar', 'x-careledger-roles': 'registrar' };
  hospitalPatient = (await http(`${hospital.url}/fhir/Patient`, { body: patient, headers: registrar })).body
    .id as string;
  labPatient = (await http(`${lab.url}/fhir/Patient`, { body: patient, headers: registrar })).body
    .id as string;
  await enrolPatientKeyOverHttp(`${hospital.url}/fhir`, hospitalPatient, patientKey, registrar);
  await enrolPatientKeyOverHttp(`${lab.url}/fhir`, labPatient, patientKey, registrar);
  for (const value of [5.4, 6.1]) {
    await http(`${lab.url}/fhir/Observation`, {
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
  }
  labPrescription = (
    await http(`${lab.url}/fhir/MedicationRequest`, {
      body: {
        resourceType: 'MedicationRequest',
        status: 'active',
        intent: 'order',
        medicationCodeableConcept: { text: 'Metformin 500 mg oral tablet' },
        subject: { reference: `Patient/${labPatient}` },
      },
    })
  ).body.id as string;
  await waitFor('the lab announced on RecordLocator', async () => {
    const found = await http(`${hospital.url}/ledger/locations/${patientKey.address}`);
    return ((found.body.members ?? []) as { address: string }[]).some((m) => m.address === lab.address);
  });
  await waitFor(
    "the lab's log anchored",
    async () => {
      const anchors = await http(
        `${hospital.url}/ledger/anchors?origin=${encodeURIComponent(lab.logOrigin)}`,
      );
      return ((anchors.body.anchors ?? []) as unknown[]).length > 0;
    },
    60,
  );
  const deployment = loadDeployment(join(dataDir, 'chain', 'deployment.json'));
  const grant = await signGrantForNewPatient({
    chainId: deployment.chainId,
    consentRegistry: deployment.contracts.consentRegistry,
    grantee: hospital.address,
    categories: ['laboratory'],
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
}, 180_000);

afterAll(async () => {
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a lab-only grant (issue 22 item 1)', () => {
  it('moves the lab results and nothing else; the report says what the grant covers', async () => {
    const fromLab = await pull();
    expect(fromLab.status, JSON.stringify(fromLab)).toBe('ok');
    expect(fromLab.refused).toEqual([]);
    expect(fromLab.received).toBe(2);
    expect(fromLab.kept).toBe(2);
    expect(fromLab.covers).toEqual(['laboratory']);
    expect(fromLab.coverage).toBe(
      "the patient's grant covers Laboratory results for treatment; the patient was matched by ledger address only (no demographics)",
    );
    expect((await http(`${hospital.url}/fhir/MedicationRequest/${labPrescription}`)).status).toBe(404);
  });

  it('identifies the patient to the hospital by id only, and the lab audits it in the patient’s history', async () => {
    const found = await http(`${lab.url}/fhir/Patient/$identify?identifier=${identifier()}`, {
      headers: asHospital(),
    });
    expect(found.status, JSON.stringify(found.body)).toBe(200);
    expect(JSON.stringify(found.body)).not.toMatch(/Labonly|1980-02-02/);
    const parameter = found.body.parameter as { name: string; valueReference?: { reference: string } }[];
    expect(parameter.find((p) => p.name === 'patient')?.valueReference?.reference).toBe(
      `Patient/${labPatient}`,
    );
    // The Patient's content still needs "Demographics": not readable, not in $everything, no summary.
    expect((await http(`${lab.url}/fhir/Patient/${labPatient}`, { headers: asHospital() })).status).toBe(404);
    const everything = await http(`${lab.url}/fhir/Patient/${labPatient}/$everything`, {
      headers: asHospital(),
    });
    expect(everything.status).toBe(200);
    const types = ((everything.body.entry ?? []) as { resource: { resourceType: string } }[]).map(
      (e) => e.resource.resourceType,
    );
    expect(types).toEqual(['Observation', 'Observation']);
    const summary = await http(`${lab.url}/fhir/Patient/${labPatient}/$summary`, { headers: asHospital() });
    expect(summary.status).toBe(403);
    expect(JSON.stringify(summary.body)).toContain('does not cover Demographics');
    const audits = await http(`${lab.url}/fhir/AuditEvent?patient=Patient/${labPatient}&_count=200`, {
      headers: { 'x-careledger-identity': 'Practitioner/po', 'x-careledger-roles': 'privacy-officer' },
    });
    const entities = (
      (audits.body.entry ?? []) as { resource: { entity?: { what?: { reference?: string } }[] } }[]
    )
      .flatMap((e) => e.resource.entity ?? [])
      .map((e) => e.what?.reference ?? '');
    expect(entities).toContain(`Patient/${labPatient}/$identify`);
  });

  it('refuses a purpose the grant does not cover, saying so in words', async () => {
    const fromLab = await pull('HRESCH');
    expect(fromLab.status).toBe('refused');
    expect(fromLab.kept).toBe(0);
    expect(fromLab.error).toContain("the patient's grant to you does not cover healthcare research");
    const unknown = await http(
      `${lab.url}/fhir/Patient/$identify?identifier=${encodeURIComponent(
        `https://careledger.dev/fhir/sid/ledger-address|${privateKeyToAccount(generatePrivateKey()).address}`,
      )}`,
      { headers: asHospital() },
    );
    expect(unknown.status).toBe(403);
    expect(JSON.stringify(unknown.body)).toContain('no consent in force');
  });
});
