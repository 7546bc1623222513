/**
 * seedDemoCredentials over real admin APIs of three nodes (hospital, lab, the board's own node) on a
 * real chain, as the demo would call it: members attested a clinician the old way (no licence) while
 * the check was off; the seed admits the board's key by vote, licenses and re-attests the clinician,
 * and switches the check on; then the clinician works and an unlicensed one is refused. A second run
 * sends nothing. Prints how long the seed took (the demo's start budget is 30 s).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoAdmin, seedDemoCredentials } from '../../src/cli/commands/demo-credentials.js';
import { startTwoMembers, type TestMember, type TwoMembers } from './two-member-consortium.js';

let net: TwoMembers;
let dataDir: string;
const doctor = privateKeyToAccount(generatePrivateKey());

const adminOf = (m: TestMember): DemoAdmin => ({ url: m.url, adminToken: m.adminToken });

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'careledger-demo-cred-'));
  net = await startTwoMembers({ practitionerCredentials: { required: false } }, { boardNode: true });
  const admin = (path: string, body: unknown) =>
    net.hospital.node.app.request(`/admin${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${net.hospital.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  // As demo-users.ts does today: attested with a placeholder hash, no licence.
  expect(
    (
      await admin('/practitioners', {
        practitioner: doctor.address,
        credentialHash: `0x${'ab'.repeat(32)}`,
        qualificationCode: 'MD',
        expiresAt: Math.floor(Date.now() / 1000) + 86_400,
      })
    ).status,
  ).toBe(201);
  const user = await admin('/users', {
    username: 'dr.grey',
    password: 'dr.grey-correct-horse-battery',
    fhirUser: 'Practitioner/dr-grey',
    roles: ['clinician'],
    ledgerAddress: doctor.address,
  });
  expect(user.status).toBe(201);
});

afterAll(async () => {
  await net?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const read = (who: string) =>
  net.hospital.node.app.request('/fhir/Organization?_count=1', {
    headers: {
      'x-careledger-identity': who,
      'x-careledger-roles': 'clinician',
      'x-careledger-purpose': 'TREAT',
    },
  });

describe('seedDemoCredentials', () => {
  it('admits the board key, licenses the clinicians, switches the check on, and is idempotent', async () => {
    expect((await read('Practitioner/dr-nobody')).status).toBe(200); // the check is off
    const board = net.boardNode as TestMember;
    const options = {
      dataDir,
      chainId: 31337,
      // The test's fetch routes each member's public URL to its in-process app.
      board: { ...adminOf(board), address: net.board.address },
      voters: [adminOf(net.hospital)],
      members: { hospital: adminOf(net.hospital) },
      enforceAt: [adminOf(net.hospital), adminOf(net.lab)],
      devClinicians: ['Practitioner/dr-1'],
    };
    const realFetch = globalThis.fetch;
    globalThis.fetch = net.fetchBetween;
    try {
      const started = performance.now();
      const licences = await seedDemoCredentials(options);
      const took = performance.now() - started;
      process.stdout.write(`seedDemoCredentials: ${took.toFixed(0)} ms\n`);
      expect(licences).toEqual([
        expect.objectContaining({ member: 'hospital', practitioner: 'Practitioner/dr-1', name: 'dr-1' }),
        expect.objectContaining({
          member: 'hospital',
          practitioner: 'Practitioner/dr-grey',
          name: 'dr.grey',
        }),
      ]);
      // The tour's development identity works at both members: its account's licence, attested by the hospital.
      const atLab = await net.lab.node.app.request('/fhir/Organization?_count=1', {
        headers: { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-purpose': 'TREAT' },
      });
      expect(atLab.status, await atLab.clone().text()).toBe(200);
      const working = await read('Practitioner/dr-grey');
      expect(working.status, await working.clone().text()).toBe(200);
      const refused = await read('Practitioner/dr-nobody');
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('practitioner credential: no-credential');
      // Again: nothing left to do, the same licences.
      expect(await seedDemoCredentials(options)).toEqual(licences);
    } finally {
      globalThis.fetch = realFetch;
    }
  });
});
