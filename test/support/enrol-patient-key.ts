/**
 * Linking a test patient's ledger key the only way the node allows (issue 14 item 12): with the
 * patient's proof of possession, not by writing the Patient's ledger-address identifier.
 */
import type { Resource } from '@medplum/fhirtypes';
import { type Hex, type LocalAccount, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import { enrolLedgerKeyOverHttp } from '../../src/enrolment/index.js';
import { createLedgerKeyProofTypedData, type LedgerKeyChallenge } from '../../src/identity/index.js';
import type { FhirRepository } from '../../src/vault/fhir-repository.js';

/** The desk: a registrar who enrols patients. */
export const ENROLLING_REGISTRAR: AccessContext = {
  who: 'Practitioner/registrar',
  purpose: 'HOPERAT',
  roles: ['registrar'],
};

let counter = 0;

function asAccount(key: Hex | LocalAccount): LocalAccount {
  return typeof key === 'string' ? privateKeyToAccount(key) : key;
}

/**
 * Links `key` to Patient `patientId` in a test vault through FhirRepository.linkLedgerAddress, which
 * checks the key's signature over a challenge naming the patient (a challenge made here, valid until
 * 2100, used once).
 */
export async function enrolPatientKey(
  repo: FhirRepository,
  patientId: string,
  key: Hex | LocalAccount,
  context: AccessContext = ENROLLING_REGISTRAR,
): Promise<Resource> {
  const account = asAccount(key);
  counter += 1;
  const challenge: LedgerKeyChallenge = {
    node: 'https://test.careledger.example',
    patient: `Patient/${patientId}`,
    key: account.address,
    nonce: toHex(counter, { size: 32 }),
    expiresAt: 4_102_444_800,
  };
  const signature = await account.signTypedData(createLedgerKeyProofTypedData(challenge));
  const result = await repo.linkLedgerAddress(
    patientId,
    { challenge, signature, consume: () => true },
    context,
  );
  return result.patient;
}

/** Creates a Patient (without the identifier) in a test vault and enrols its key; returns its id. */
export async function createEnrolledPatient(
  repo: FhirRepository,
  patient: Resource,
  key: Hex | LocalAccount,
  context: AccessContext = ENROLLING_REGISTRAR,
): Promise<string> {
  const created = await repo.create(patient, context);
  await enrolPatientKey(repo, created.id as string, key, context);
  return created.id as string;
}

/** Development identity headers of the enrolling registrar (a node started with the identity header on). */
export const REGISTRAR_HEADERS = {
  'x-careledger-identity': 'Practitioner/registrar',
  'x-careledger-roles': 'registrar',
};

/** Enrols `key` for Patient `patientId` at a running node, over its API (challenge, signature, link). */
export async function enrolPatientKeyOverHttp(
  fhirBaseUrl: string,
  patientId: string,
  key: Hex | LocalAccount,
  headers: Record<string, string> = REGISTRAR_HEADERS,
): Promise<void> {
  await enrolLedgerKeyOverHttp({ fhirBaseUrl, patientId, account: asAccount(key), headers });
}

/** Enrols `key` for Patient `patientId` at a node tested in-process (`node.app.request`), over its API. */
export async function enrolPatientKeyInApp(
  app: { request: (input: string, init?: RequestInit) => Response | Promise<Response> },
  patientId: string,
  key: Hex | LocalAccount,
  headers: Record<string, string> = REGISTRAR_HEADERS,
): Promise<void> {
  await enrolLedgerKeyOverHttp({
    // Loopback: the development identity header is accepted only there.
    fhirBaseUrl: 'http://127.0.0.1/fhir',
    patientId,
    account: asAccount(key),
    headers,
    fetch: async (url, init) => app.request(String(url), init),
  });
}
