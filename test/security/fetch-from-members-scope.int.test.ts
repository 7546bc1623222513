/**
 * Security review F13: `$fetch-from-members` with a read-only token made the other members disclose
 * the patient's records (and log the disclosure in the patient's history there) before every record
 * was refused here for want of a write scope. The token's scopes are now checked before any member is
 * asked. Real vault (SQLite, envelope encryption, log); the other member is an HTTP endpoint that
 * counts what it is asked (the exchange's `fetch` transport) and answers 503.
 */
import { type Address, getAddress, hexToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { CareLedgerError } from '../../src/errors/index.js';
import { ExchangeService } from '../../src/exchange/index.js';
import { createPrivateKeySigner } from '../../src/smart/address-jwt.js';
import { parseScopes } from '../../src/smart/index.js';
import type { IndexedMember } from '../../src/sync/index-storage.js';
import { createEnrolledPatient } from '../support/enrol-patient-key.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';

const hospitalKey = generatePrivateKey();
const HOSPITAL = privateKeyToAccount(hospitalKey).address;
const LAB = getAddress('0x00000000000000000000000000000000000000bb');
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
const patientKey = privateKeyToAccount(generatePrivateKey());

let vault: TestVault;
let patientId: string;
const asked: string[] = [];

const lab: IndexedMember = {
  address: LAB,
  name: 'City Lab',
  role: 1,
  fhirBaseUrl: 'http://lab.test/fhir',
  logOrigin: 'lab.test/log',
  logVerifierKey: '',
  encryptionPublicKey: '0x',
  status: 'active',
  admittedBlock: 1,
};

function exchange(): ExchangeService {
  return new ExchangeService({
    self: { address: HOSPITAL, name: 'Hospital', sign: createPrivateKeySigner(hexToBytes(hospitalKey)) },
    index: {
      member: async (address: Address) => (getAddress(address) === LAB ? lab : undefined),
      anchors: async () => [],
      recordLocations: async () => [LAB, HOSPITAL],
    },
    repository: vault.repo,
    fetch: async (input) => {
      asked.push(String(input));
      return new Response('{}', { status: 503 });
    },
  });
}

beforeAll(async () => {
  vault = await openTestVault(HOSPITAL);
  patientId = await createEnrolledPatient(
    vault.repo,
    { resourceType: 'Patient', name: [{ family: 'Ann' }] },
    patientKey,
    clinician,
  );
});

afterAll(() => vault?.close());

describe('$fetch-from-members checks the token before asking other members (F13)', () => {
  it('refuses a read-only token with insufficient_scope, and no member is asked', async () => {
    asked.length = 0;
    const readOnly = { ...clinician, scopes: parseScopes('user/*.rs') };
    const refused = await exchange()
      .pull(patientId, readOnly, { purpose: 'TREAT' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CareLedgerError);
    expect((refused as CareLedgerError).code).toBe('ERR_FORBIDDEN');
    expect((refused as CareLedgerError).details.oauth).toBe('insufficient_scope');
    expect(asked).toEqual([]);
  });

  it('asks the members for a token that may keep what they send', async () => {
    asked.length = 0;
    const writer = { ...clinician, scopes: parseScopes('user/*.cruds') };
    const report = await exchange().pull(patientId, writer, { purpose: 'TREAT' });
    expect(report.members.map((m) => m.member)).toEqual([LAB]);
    expect(asked.length).toBeGreaterThan(0);
  });
});
