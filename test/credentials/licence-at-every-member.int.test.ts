/**
 * Issue 21's check on a real chain with two members (decision 0028): a board's issuer key counts only
 * once the consortium voted for it; a member attests a practitioner only with a valid licence; a
 * nurse's licence reads but does not prescribe; a licence suspended on the ledger from outside stops
 * the clinician's next request at their own member and at another member (a request on their
 * behalf, RFC 8693 `act`), with the reason in each patient's access history (AuditEvent outcome 4).
 */
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { type Address, bytesToHex, hexToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  credentialHashOf,
  issuerKeyOnChain,
  recordCredentialData,
  registerIssuerKeyData,
  setStatusData,
} from '../../src/credentials/credential-ledger.js';
import { buildLicenseCredential, practitionerDid } from '../../src/credentials/practitioner-credential.js';
import { issueCredential } from '../../src/credentials/vc-jwt.js';
import { MemberClient } from '../../src/exchange/member-client.js';
import { startTwoMembers, type TestMember, type TwoMembers } from './two-member-consortium.js';

const ISSUER = 'https://board.example.gov/ma';
const V2_0360 = 'http://terminology.hl7.org/CodeSystem/v2-0360';
const doctor = privateKeyToAccount(generatePrivateKey());
const nurse = privateKeyToAccount(generatePrivateKey());
const stranger = privateKeyToAccount(generatePrivateKey());

let net: TwoMembers;
let boardKey: JWK;
let kid: string;
let thumbprint: `0x${string}`;
const licences: Record<string, string> = {};
let practitionerId: string;

async function licence(subject: Address, code: string, index: number, key = boardKey): Promise<string> {
  const credential = buildLicenseCredential({
    issuer: ISSUER,
    validFrom: new Date('2026-01-01T00:00:00Z'),
    validUntil: new Date('2030-01-01T00:00:00Z'),
    subject: {
      id: practitionerDid(31337, subject),
      licenseNumber: `${code}-${4400 + index}`,
      jurisdiction: 'US-MA',
      qualification: { system: V2_0360, code },
    },
    status: { index, revocationList: `${ISSUER}/status/r`, suspensionList: `${ISSUER}/status/s` },
  });
  return issueCredential(credential, { privateKey: key, kid });
}

async function recordOnChain(jwt: string, subject: Address, code: string, index: number): Promise<boolean> {
  return net.boardSends(
    net.deployment.contracts.credentialStatus as Address,
    recordCredentialData(credentialHashOf(jwt), {
      subject,
      index,
      validFrom: Date.parse('2026-01-01T00:00:00Z') / 1000,
      validUntil: Date.parse('2030-01-01T00:00:00Z') / 1000,
      qualification: { system: V2_0360, code },
      licenseNumber: `${code}-${4400 + index}`,
      jurisdiction: 'US-MA',
    }),
  );
}

async function admin(member: TestMember, path: string, body?: unknown) {
  const response = await member.node.app.request(`/admin${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${member.adminToken}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const as = (who: string, roles = 'clinician') => ({
  'x-careledger-identity': who,
  'x-careledger-roles': roles,
  'x-careledger-purpose': 'TREAT',
  'content-type': 'application/fhir+json',
});

async function fhir(member: TestMember, path: string, headers: Record<string, string>, body?: unknown) {
  const response = await member.node.app.request(`/fhir/${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, text: await response.text() };
}

async function deniedReasons(member: TestMember, patientId: string): Promise<string[]> {
  const history = await fhir(
    member,
    `AuditEvent?patient=Patient/${patientId}`,
    as(`Patient/${patientId}`, ''),
  );
  expect(history.status).toBe(200);
  const bundle = JSON.parse(history.text) as {
    entry?: { resource: { outcome?: string; outcomeDesc?: string } }[];
  };
  return (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((e) => e.outcome === '4')
    .map((e) => e.outcomeDesc ?? '');
}

async function newPatient(member: TestMember): Promise<string> {
  const created = await fhir(member, 'Patient', as('Practitioner/registrar', 'registrar'), {
    resourceType: 'Patient',
    name: [{ family: 'Licence', given: ['Pat'] }],
    birthDate: '1971-03-04',
  });
  expect(created.status, created.text).toBe(201);
  return (JSON.parse(created.text) as { id: string }).id;
}

/** Waits until a member's chain index has followed the attestation of `account` (its block follower). */
async function indexed(member: TestMember, account: Address): Promise<void> {
  for (;;) {
    const list = await member.node.app.request('/ledger/practitioners');
    const body = (await list.json()) as { practitioners: { address: string }[] };
    if (body.practitioners.some((p) => p.address.toLowerCase() === account.toLowerCase())) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

beforeAll(async () => {
  net = await startTwoMembers();
  const pair = await generateKeyPair('ES256', { extractable: true });
  boardKey = await exportJWK(pair.privateKey);
  const onChain = await issuerKeyOnChain(await exportJWK(pair.publicKey));
  kid = onChain.kid;
  thumbprint = onChain.keyThumbprint;
  expect(
    await net.boardSends(
      net.deployment.contracts.credentialStatus as Address,
      registerIssuerKeyData(ISSUER, onChain),
    ),
  ).toBe(true);
  licences.doctor = await licence(doctor.address, 'MD', 1);
  licences.nurse = await licence(nurse.address, 'RN', 2);
});

afterAll(async () => {
  await net?.stop();
});

describe('licences at every member', () => {
  it('counts an issuer key only once the consortium voted for it', async () => {
    // k = 2: the board's proposal is one vote; until another member votes, nothing it signs is accepted.
    const early = await admin(net.hospital, '/practitioners', {
      practitioner: doctor.address,
      credential: licences.doctor,
    });
    expect(early.status).toBe(403);
    expect(JSON.stringify(early.body)).toContain('issuer-not-admitted');
    const pending = await admin(net.hospital, `/credentials/issuer-keys/${net.board.address}`);
    expect(pending.body).toMatchObject({ admitted: false, pending: { keyThumbprint: thumbprint, votes: 1 } });
    const vote = await admin(net.hospital, '/credentials/issuer-keys/votes', {
      board: net.board.address,
      keyThumbprint: thumbprint,
    });
    expect(vote.status, JSON.stringify(vote.body)).toBe(201);
    expect(vote.body.admitted).toBe(true);
    expect(await recordOnChain(licences.doctor as string, doctor.address, 'MD', 1)).toBe(true);
    expect(await recordOnChain(licences.nurse as string, nurse.address, 'RN', 2)).toBe(true);
  });

  it('attests a practitioner only with a valid licence about them', async () => {
    const forgedKey = await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey);
    const forged = await licence(stranger.address, 'MD', 3, forgedKey);
    const unrecorded = await licence(stranger.address, 'MD', 4);
    for (const [body, reason] of [
      [
        {
          practitioner: stranger.address,
          credentialHash: `0x${'11'.repeat(32)}`,
          qualificationCode: 'MD',
          expiresAt: 4e9,
        },
        'no-credential',
      ],
      [{ practitioner: stranger.address, credential: forged }, 'bad-signature'],
      [{ practitioner: stranger.address, credential: licences.doctor }, 'wrong-subject'],
      [{ practitioner: stranger.address, credential: unrecorded }, 'not-recorded'],
    ] as const) {
      const refused = await admin(net.hospital, '/practitioners', body);
      expect(refused.status).toBe(403);
      expect(JSON.stringify(refused.body)).toContain(reason);
    }
    for (const [who, account, jwt] of [
      ['dr.house', doctor.address, licences.doctor],
      ['nurse.joy', nurse.address, licences.nurse],
    ] as const) {
      const attested = await admin(net.hospital, '/practitioners', {
        practitioner: account,
        credential: jwt,
      });
      expect(attested.status, JSON.stringify(attested.body)).toBe(201);
      expect(attested.body.credentialHash).toBe(credentialHashOf(jwt as string));
      const user = await admin(net.hospital, '/users', {
        username: who,
        password: `${who}-correct-horse-battery`,
        fhirUser: `Practitioner/${who.replace('.', '-')}`,
        roles: ['clinician'],
        ledgerAddress: account,
      });
      expect(user.status, JSON.stringify(user.body)).toBe(201);
    }
    const listed = await admin(net.hospital, '/credentials/practitioners');
    expect(listed.body.practitioners).toEqual([
      expect.objectContaining({
        name: 'dr.house',
        status: 'valid',
        qualification: 'MD',
        licenseNumber: 'MD-4401',
      }),
      expect.objectContaining({ name: 'nurse.joy', status: 'valid', qualification: 'RN' }),
    ]);
  });

  it('lets a nurse read but not prescribe; a doctor prescribes', async () => {
    const patient = await newPatient(net.hospital);
    const order = {
      resourceType: 'MedicationRequest',
      status: 'active',
      intent: 'order',
      subject: { reference: `Patient/${patient}` },
      medicationCodeableConcept: { text: 'amoxicillin 500 mg' },
    };
    expect((await fhir(net.hospital, `Patient/${patient}`, as('Practitioner/nurse-joy'))).status).toBe(200);
    const refused = await fhir(net.hospital, 'MedicationRequest', as('Practitioner/nurse-joy'), order);
    expect(refused.status).toBe(403);
    expect(refused.text).toContain(
      'practitioner credential: not-qualified (prescribing needs a prescriber licence, not RN)',
    );
    expect(await deniedReasons(net.hospital, patient)).toContain(
      'practitioner credential: not-qualified (prescribing needs a prescriber licence, not RN)',
    );
    const ordered = await fhir(net.hospital, 'MedicationRequest', as('Practitioner/dr-house'), order);
    expect(ordered.status, ordered.text).toBe(201);
  });

  it('shows the licence as Practitioner.qualification when a Practitioner is read', async () => {
    const created = await fhir(net.hospital, 'Practitioner', as('Practitioner/registrar', 'registrar'), {
      resourceType: 'Practitioner',
      name: [{ family: 'House', given: ['Greg'] }],
      identifier: [{ system: 'https://careledger.dev/fhir/sid/ledger-address', value: doctor.address }],
    });
    expect(created.status, created.text).toBe(201);
    practitionerId = (JSON.parse(created.text) as { id: string }).id;
    const read = await fhir(net.hospital, `Practitioner/${practitionerId}`, as('Practitioner/nurse-joy'));
    expect(read.status).toBe(200);
    expect(JSON.parse(read.text).qualification).toEqual([
      {
        extension: [
          { url: 'https://careledger.dev/fhir/StructureDefinition/credential-status', valueCode: 'valid' },
        ],
        identifier: [{ system: 'https://careledger.dev/fhir/sid/licence/US-MA', value: 'MD-4401' }],
        code: { coding: [{ system: V2_0360, code: 'MD' }] },
        period: { start: '2026-01-01T00:00:00.000Z', end: '2030-01-01T00:00:00.000Z' },
        issuer: {
          identifier: { system: 'https://careledger.dev/fhir/sid/ledger-address', value: net.board.address },
          display: 'State Medical Board',
        },
      },
    ]);
  });

  it('refuses the next request at both members once the board suspends the licence, and says why', async () => {
    const hospitalPatient = await newPatient(net.hospital);
    const labPatient = await newPatient(net.lab);
    await indexed(net.lab, doctor.address);
    // The hospital's system asks the lab on the doctor's behalf (SMART Backend Services, `act`).
    const atLab = new MemberClient({
      member: { address: net.lab.account.address, name: 'lab', fhirBaseUrl: `${net.lab.url}/fhir` },
      fetch: net.fetchBetween,
    });
    const token = await atLab.memberToken(
      {
        address: net.hospital.account.address,
        sign: async (hash) => hexToBytes(await net.hospital.account.sign({ hash: bytesToHex(hash) })),
      },
      { purpose: 'TREAT', practitioner: doctor.address },
    );
    const fromHospital = { authorization: `Bearer ${token}`, accept: 'application/fhir+json' };
    const before = await fhir(net.lab, `Patient/${labPatient}/$everything`, fromHospital);
    expect(before.text).not.toContain('practitioner credential');
    expect((await fhir(net.hospital, `Patient/${hospitalPatient}`, as('Practitioner/dr-house'))).status).toBe(
      200,
    );

    // From outside: the board suspends the licence in one transaction.
    expect(
      await net.boardSends(
        net.deployment.contracts.credentialStatus as Address,
        setStatusData(1, 'suspension', true),
      ),
    ).toBe(true);
    await net.hospital.node.credentialIndex?.sync(); // each node's follower does this every block
    await net.lab.node.credentialIndex?.sync();

    const reason = 'practitioner credential: suspended';
    const atHospital = await fhir(net.hospital, `Patient/${hospitalPatient}`, as('Practitioner/dr-house'));
    expect(atHospital.status).toBe(403);
    expect(atHospital.text).toContain(reason);
    const atLabAfter = await fhir(net.lab, `Patient/${labPatient}/$everything`, fromHospital);
    expect(atLabAfter.status).toBe(403);
    expect(atLabAfter.text).toContain(reason);
    expect(await deniedReasons(net.hospital, hospitalPatient)).toContain(reason);
    expect(await deniedReasons(net.lab, labPatient)).toContain(reason);
    // The nurse's licence is untouched; she sees the doctor's licence as suspended.
    expect(
      (await fhir(net.hospital, `Patient/${hospitalPatient}`, as('Practitioner/nurse-joy'))).status,
    ).toBe(200);
    const shown = await fhir(net.hospital, `Practitioner/${practitionerId}`, as('Practitioner/nurse-joy'));
    expect(JSON.parse(shown.text).qualification[0].extension[0].valueCode).toBe('suspended');
    const listed = await admin(net.hospital, '/credentials/practitioners');
    expect(listed.body.practitioners).toContainEqual(
      expect.objectContaining({ name: 'dr.house', status: 'suspended' }),
    );
  });
});
