/**
 * Consent through FHIR across members (Core 4 item 3): a patient's FHIR Consent with their EIP-712
 * signature, posted to the hospital, lands on the ledger and is enforced by the lab's node (another
 * process, answering from its own ledger index) for the hospital's reads; the patient's signed
 * revocation, posted the same way, shuts the hospital out again. Bad consents are 400 with the reason.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEDGER_ADDRESS_SYSTEM } from '../../src/access/index.js';
import { readChainStatus } from '../../src/cli/commands/chain-status.js';
import { fetchDemoToken } from '../../src/cli/commands/demo-token.js';
import { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import {
  createWardDelegate,
  DATA_CATEGORY_SYSTEM,
  LEDGER_CONSENT_EXTENSION,
} from '../../src/consent/index.js';
import {
  createConsentDomain,
  createDelegationTypedData,
  createGrantSalt,
  createGrantTypedData,
  createRevokeTypedData,
  encodeCategories,
  encodePurposes,
  loadDeployment,
  PURPOSE_OF_USE_SYSTEM,
} from '../../src/ledger/index.js';
import { enrolPatientKeyOverHttp } from '../support/enrol-patient-key.js';
import { findFreePorts } from '../support/free-port.js';

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-consent-'));
let dev: DevConsortium;
let hospital: { url: string; address: Address };
let lab: { url: string; address: Address };
let domain: ReturnType<typeof createConsentDomain>;
const patientKey = privateKeyToAccount(generatePrivateKey());
let hospitalPatient: string;
let labPatient: string;
/** The salt of the grants' terms: the ledger holds only their salted commitment (decision 0013). */
const salt = createGrantSalt();

const clinician = { 'x-careledger-identity': 'Practitioner/dr-1', 'content-type': 'application/fhir+json' };
async function fhir(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
) {
  const response = await fetch(`${base}/fhir${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...clinician, ...init.headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
}

function consent(overrides: { nonce?: number; start?: string; end?: string; signature?: Hex } = {}) {
  return {
    resourceType: 'Consent',
    status: 'active',
    scope: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }],
    },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: `Patient/${hospitalPatient}` },
    // R4 ppc-1: a policy or policy rule; OPTIN is the basis of a patient's opt-in grant.
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    provision: {
      type: 'permit',
      period: {
        start: overrides.start ?? '2026-01-01T00:00:00Z',
        end: overrides.end ?? '2030-01-01T00:00:00Z',
      },
      actor: [
        {
          role: {
            coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType', code: 'IRCP' }],
          },
          reference: { identifier: { system: LEDGER_ADDRESS_SYSTEM, value: hospital.address } },
        },
      ],
      purpose: [{ system: PURPOSE_OF_USE_SYSTEM, code: 'TREAT' }],
      class: [
        { system: DATA_CATEGORY_SYSTEM, code: 'laboratory' },
        { system: DATA_CATEGORY_SYSTEM, code: 'demographics' },
      ],
    },
    extension: [
      {
        url: LEDGER_CONSENT_EXTENSION,
        extension: [
          { url: 'nonce', valueString: String(overrides.nonce ?? 0) },
          { url: 'salt', valueString: salt },
          { url: 'signature', valueString: overrides.signature ?? '0x' },
        ],
      },
    ],
  };
}

async function signed(
  overrides: { nonce?: number; start?: string; end?: string; key?: typeof patientKey } = {},
) {
  const start = overrides.start ?? '2026-01-01T00:00:00Z';
  const end = overrides.end ?? '2030-01-01T00:00:00Z';
  const signature = await (overrides.key ?? patientKey).signTypedData(
    createGrantTypedData(domain, {
      patient: patientKey.address,
      grantee: hospital.address,
      categories: encodeCategories(['demographics', 'laboratory']),
      purposes: encodePurposes(['TREAT']),
      salt,
      notBefore: BigInt(Date.parse(start) / 1000),
      notAfter: BigInt(Date.parse(end) / 1000),
      nonce: BigInt(overrides.nonce ?? 0),
    }),
  );
  return consent({ ...overrides, signature });
}

beforeAll(async () => {
  const [chainPort, ...nodePorts] = await findFreePorts(4);
  dev = new DevConsortium({ dataDir, chainPort: chainPort as number, nodePorts, log: () => undefined });
  await dev.start();
  const status = await readChainStatus(dataDir, dev.chain.rpcUrl);
  const member = (name: string) => {
    const m = status.members.find((x) => x.name.toLowerCase().includes(name));
    const node = dev.nodes.find((n) => n.name === name);
    return { url: node?.url as string, address: m?.address as Address };
  };
  hospital = member('hospital');
  lab = member('lab');
  const deployment = loadDeployment(join(dataDir, 'chain', 'deployment.json'));
  domain = createConsentDomain(deployment.chainId, deployment.contracts.consentRegistry);
  const patient = { resourceType: 'Patient', name: [{ family: 'Consenting' }] };
  hospitalPatient = (await fhir(hospital.url, '/Patient', { body: patient })).body.id as string;
  labPatient = (await fhir(lab.url, '/Patient', { body: patient })).body.id as string;
  // The patient's ledger key is linked by enrolment (proof of possession), at each member.
  await enrolPatientKeyOverHttp(`${hospital.url}/fhir`, hospitalPatient, patientKey);
  await enrolPatientKeyOverHttp(`${lab.url}/fhir`, labPatient, patientKey);
  await fhir(lab.url, '/Observation', {
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
      code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
      subject: { reference: `Patient/${labPatient}` },
    },
  });
}, 120_000);

afterAll(async () => {
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

function ledgerConsentValueOf(resource: { extension: unknown[] }, name: string): string | undefined {
  const ext = (
    resource.extension as { url: string; extension?: { url: string; valueString?: string }[] }[]
  ).find((e) => e.url === LEDGER_CONSENT_EXTENSION);
  return ext?.extension?.find((e) => e.url === name)?.valueString;
}

/** The hospital's system reading at the lab, as another member (its ledger address). */
const asHospital = () => ({ 'x-careledger-identity': `Organization/${hospital.address}` });
async function hospitalSeesAtLab(): Promise<number> {
  const found = await fhir(lab.url, `/Observation?subject=Patient/${labPatient}&_total=accurate`, {
    headers: asHospital(),
  });
  return found.body.total as number;
}
async function waitFor(predicate: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < 200; i++) {
    if (await predicate()) return performance.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the condition did not hold within 10 s');
}

describe('consent through FHIR', () => {
  it('refuses a wrong signer, an empty window and a missing signature with 400 naming the reason', async () => {
    const stranger = privateKeyToAccount(generatePrivateKey());
    const wrongKey = await fhir(hospital.url, '/Consent', { body: await signed({ key: stranger }) });
    expect(wrongKey.status).toBe(400);
    expect(JSON.stringify(wrongKey.body)).toContain("the signature was not made by the patient's key");
    const window = await fhir(hospital.url, '/Consent', {
      body: await signed({ start: '2030-01-01T00:00:00Z', end: '2029-01-01T00:00:00Z' }),
    });
    expect(window.status).toBe(400);
    expect(JSON.stringify(window.body)).toContain('notAfter must be later than notBefore');
    const unsigned = await fhir(hospital.url, '/Consent', { body: consent() });
    expect(unsigned.status).toBe(400);
  });

  it("puts the grant on the ledger and the lab's node enforces it; the signed revocation shuts the hospital out", async () => {
    expect(await hospitalSeesAtLab()).toBe(0);
    const created = await fhir(hospital.url, '/Consent', { body: await signed() });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const stored = created.body as {
      id: string;
      identifier: { system: string; value: string }[];
      extension: unknown[];
    };
    expect(JSON.stringify(stored.extension)).toMatch(/"transaction"/);
    const enforcedAfter = await waitFor(async () => (await hospitalSeesAtLab()) === 1);
    console.log(`grant relayed at the hospital, enforced at the lab after ${Math.round(enforcedAfter)} ms`);

    // The lab got the opening from the hospital; a forged one (another salt) is refused with the reason.
    const forged = await fetch(`${lab.url}/ledger/consent/openings`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grantId: stored.identifier.find((i) => i.system.endsWith('consent-grant'))?.value,
        grant: {
          patient: patientKey.address,
          grantee: hospital.address,
          categories: encodeCategories(['demographics', 'laboratory', 'hiv']).toString(),
          purposes: encodePurposes(['TREAT']).toString(),
          salt,
          notBefore: String(Date.parse('2026-01-01T00:00:00Z') / 1000),
          notAfter: String(Date.parse('2030-01-01T00:00:00Z') / 1000),
          nonce: '0',
        },
        signature: ledgerConsentValueOf(stored, 'signature'),
      }),
    });
    expect(forged.status).toBe(400);
    expect(await forged.text()).toContain("the terms do not open the grant's commitment");

    const replay = await fhir(hospital.url, '/Consent', { body: await signed() });
    expect(replay.status, JSON.stringify(replay.body)).toBe(200); // the same signed consent again: already relayed, already stored
    const reused = await fhir(hospital.url, '/Consent', {
      body: await signed({ end: '2031-01-01T00:00:00Z' }),
    });
    expect(reused.status).toBe(400);
    expect(JSON.stringify(reused.body)).toMatch(/nonce/);

    const check = await fhir(hospital.url, `/Consent/${stored.id}/$verify`);
    const param = (name: string) =>
      (check.body.parameter as { name: string; valueBoolean?: boolean }[]).find((p) => p.name === name)
        ?.valueBoolean;
    expect(param('onLedger')).toBe(true);
    expect(param('matches')).toBe(true);
    expect(param('revoked')).toBe(false);

    const grantId = stored.identifier.find((i) => i.system.endsWith('consent-grant'))?.value as Hex;
    const revokeSignature = await patientKey.signTypedData(
      createRevokeTypedData(domain, { patient: patientKey.address, grantId, nonce: 1n }),
    );
    const revoked = await fhir(hospital.url, `/Consent/${stored.id}/$revoke`, {
      body: {
        resourceType: 'Parameters',
        parameter: [
          { name: 'nonce', valueString: '1' },
          { name: 'signature', valueString: revokeSignature },
        ],
      },
    });
    expect(revoked.status, JSON.stringify(revoked.body)).toBe(200);
    expect(revoked.body.status).toBe('inactive');
    const revokedAfter = await waitFor(async () => (await hospitalSeesAtLab()) === 0);
    console.log(`revocation enforced at the lab after ${Math.round(revokedAfter)} ms`);
  });

  it('accepts consent signed by a proxy the patient appointed, or by a guardian a member attested for a minor', async () => {
    const adminToken = readFileSync(join(dataDir, 'nodes', 'hospital', 'admin.token'), 'utf8').trim();
    // The proxy's key for this patient only, which accepts the role itself (decision 0021).
    const proxyDelegate = await createWardDelegate(generatePrivateKey(), patientKey.address, domain);
    const proxy = privateKeyToAccount(proxyDelegate.key);
    const delegation = {
      patient: patientKey.address,
      delegate: proxy.address,
      notBefore: 0n,
      notAfter: BigInt(Date.parse('2030-01-01T00:00:00Z') / 1000),
      nonce: 2n,
    };
    const appointed = await fetch(`${hospital.url}/ledger/consent/delegations?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        delegation: Object.fromEntries(Object.entries(delegation).map(([k, v]) => [k, String(v)])),
        signature: await patientKey.signTypedData(createDelegationTypedData(domain, delegation)),
        delegateSignature: proxyDelegate.delegateSignature,
      }),
    });
    expect(appointed.status, await appointed.clone().text()).toBe(201);
    const byProxy = await fhir(hospital.url, '/Consent', { body: await signed({ nonce: 3, key: proxy }) });
    expect(byProxy.status, JSON.stringify(byProxy.body)).toBe(201);
    await waitFor(async () => (await hospitalSeesAtLab()) === 1);

    // A minor: no key of their own signs; the hospital attests the guardian on the ledger.
    const minor = privateKeyToAccount(generatePrivateKey());
    // The guardian signs with a key for this ward only (decisions 0013, 0021): the ledger links the ward
    // to an address used for nothing else, not to the guardian's own.
    const guardianDelegate = await createWardDelegate(generatePrivateKey(), minor.address, domain);
    const guardian = privateKeyToAccount(guardianDelegate.key);
    const attested = await fetch(`${hospital.url}/admin/guardians`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        patient: minor.address,
        guardian: guardian.address,
        notBefore: 0,
        notAfter: 1_900_000_000,
        guardianSignature: guardianDelegate.delegateSignature,
      }),
    });
    expect(attested.status, await attested.clone().text()).toBe(201);
    const minorId = (
      await fhir(hospital.url, '/Patient', { body: { resourceType: 'Patient', birthDate: '2015-03-01' } })
    ).body.id as string;
    await enrolPatientKeyOverHttp(`${hospital.url}/fhir`, minorId, minor);
    const forMinor = async (key: typeof guardian) => {
      const body = consent({
        signature: await key.signTypedData(
          createGrantTypedData(domain, {
            patient: minor.address,
            grantee: hospital.address,
            categories: encodeCategories(['demographics', 'laboratory']),
            purposes: encodePurposes(['TREAT']),
            salt,
            notBefore: BigInt(Date.parse('2026-01-01T00:00:00Z') / 1000),
            notAfter: BigInt(Date.parse('2030-01-01T00:00:00Z') / 1000),
            nonce: 0n,
          }),
        ),
      });
      return fhir(hospital.url, '/Consent', {
        body: { ...body, patient: { reference: `Patient/${minorId}` } },
      });
    };
    const stranger = await forMinor(privateKeyToAccount(generatePrivateKey()));
    expect(stranger.status).toBe(400);
    expect(JSON.stringify(stranger.body)).toContain("the signature was not made by the patient's key");
    const byGuardian = await forMinor(guardian);
    expect(byGuardian.status, JSON.stringify(byGuardian.body)).toBe(201);
  });

  it("signs the demo's accounts in through SMART (careledger demo token), scoped as each may", async () => {
    const users = dev.demoUsers;
    if (users === undefined) throw new Error('the demo enrolled no users');
    const clinician = await fetchDemoToken(users, 'dr.grey', 'openid fhirUser user/*.cruds');
    const bearer = { authorization: `Bearer ${clinician.access_token}` };
    const patients = await fetch(`${hospital.url}/fhir/Patient?_total=accurate`, { headers: bearer });
    expect(patients.status).toBe(200);
    const patient = await fetchDemoToken(users, 'maria.rivera', 'launch/patient patient/*.rs');
    expect(patient.patient).toBe(
      users.accounts.find((a) => a.username === 'maria.rivera')?.fhirUser.slice(8),
    );
    const own = await fetch(`${hospital.url}/fhir/Patient/${patient.patient}`, {
      headers: { authorization: `Bearer ${patient.access_token}` },
    });
    expect(own.status).toBe(200);
    const other = await fetch(`${hospital.url}/fhir/Patient/${hospitalPatient}`, {
      headers: { authorization: `Bearer ${patient.access_token}` },
    });
    expect(other.status).toBe(404); // issue 14 item 5: another patient's record is not said to exist
  });
});
