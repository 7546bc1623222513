import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { privateKeyToAccount } from 'viem/accounts';
import { enrolLedgerKeyOverHttp } from '../../enrolment/index.js';
import { CareLedgerError } from '../../errors/index.js';
import { createPatientKey, createPatientKeystore, type PatientKeystore } from '../../identity/index.js';
import { writeFileDurably } from '../../storage/write-file-durably.js';
import { requestJson } from '../http-json.js';

export interface DemoAccount {
  readonly username: string;
  readonly password: string;
  /** Base32 TOTP secret: add it to an authenticator app, or compute codes with any RFC 6238 tool. */
  readonly totpSecret: string;
  readonly fhirUser: string;
  readonly roles: readonly string[];
}

export interface DemoUsers {
  readonly node: string;
  readonly fhirBaseUrl: string;
  readonly accounts: readonly DemoAccount[];
  /** A public SMART app registered for the demo: any loopback redirect port works (RFC 8252). */
  readonly smartClient: { readonly clientId: string; readonly redirectUri: string };
  /** The demo patient's consent keystore passphrase (the keystore is stored at the node). */
  readonly patientKeystorePassphrase: string;
  /** The demo patient's consent keystore (encrypted under that passphrase), to enrol her key at the other members. */
  readonly patientKeystore?: PatientKeystore;
}

export function demoUsersFile(dataDir: string): string {
  return join(dataDir, 'demo-users.json');
}

/** The demo accounts `careledger dev` enrolled, or ERR_CONFIG if the demo never ran in `dataDir`. */
export function loadDemoUsers(dataDir: string): DemoUsers {
  const file = demoUsersFile(dataDir);
  if (!existsSync(file)) {
    throw new CareLedgerError('ERR_CONFIG', `no ${file}: start the demo with \`npm start\` first`);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as DemoUsers;
}

/**
 * Enrols the demo's people at the hospital node, once: a clinician and a privacy officer (each with
 * a ledger key the hospital attests on the ledger, without which they cannot sign in), a patient with
 * a Patient record, a ledger key and its keystore, and a public SMART app. The credentials go to
 * `demo-users.json` (mode 0600) in the data folder: demo secrets, never a production practice.
 */
export async function enrolDemoUsers(
  dataDir: string,
  hospital: { name: string; url: string; adminToken: string },
  log: (line: string) => void,
): Promise<DemoUsers> {
  const file = demoUsersFile(dataDir);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as DemoUsers;
  const admin = <T>(path: string, body: unknown) =>
    requestJson<T>(`${hospital.url}/admin${path}`, { body, token: hospital.adminToken });
  const password = () => randomBytes(12).toString('base64url');
  const accounts: DemoAccount[] = [];
  for (const [username, fhirUser, roles] of [
    ['dr.grey', 'Practitioner/dr-grey', ['clinician']],
    ['privacy.officer', 'Practitioner/privacy-officer', ['privacy-officer']],
  ] as const) {
    const key = createPatientKey(); // a secp256k1 key, here the practitioner's ledger identity
    await admin('/practitioners', {
      practitioner: key.address,
      credentialHash: `0x${randomBytes(32).toString('hex')}`,
      qualificationCode: roles[0] === 'clinician' ? 'MD' : 'PRIVACY',
      expiresAt: Math.floor(Date.now() / 1000) + 365 * 86_400,
    });
    const secret = password();
    const created = await admin<{ totpSecret: string }>('/users', {
      username,
      password: secret,
      fhirUser,
      roles,
      ledgerAddress: key.address,
    });
    accounts.push({ username, password: secret, totpSecret: created.totpSecret, fhirUser, roles });
  }
  const patientKey = createPatientKey();
  const passphrase = password();
  const registrar = { 'x-careledger-identity': 'Practitioner/registrar', 'x-careledger-roles': 'registrar' };
  // The staff accounts' Practitioner resources, so patients read a name, not an account, in their
  // access history, messages and the privacy officer's review (issue 22, decision 0036).
  for (const [id, prefix, given, family] of [
    ['dr-grey', 'Dr', 'Meredith', 'Grey'],
    ['privacy-officer', 'Ms', 'Amal', 'Haddad'],
  ] as const) {
    await requestJson(`${hospital.url}/fhir/Practitioner/${id}`, {
      method: 'PUT',
      body: {
        resourceType: 'Practitioner',
        id,
        active: true,
        name: [{ use: 'official', prefix: [prefix], given: [given], family }],
      },
      headers: registrar,
    });
  }
  const patient = await requestJson<{ id: string }>(`${hospital.url}/fhir/Patient`, {
    body: {
      resourceType: 'Patient',
      name: [{ family: 'Rivera', given: ['Maria'] }],
      gender: 'female',
      birthDate: '1984-07-12',
    },
    headers: registrar,
  });
  // At the desk: the registrar asks for a challenge, Maria signs it with her key (issue 14 item 12).
  await enrolLedgerKeyOverHttp({
    fhirBaseUrl: `${hospital.url}/fhir`,
    patientId: patient.id,
    account: privateKeyToAccount(patientKey.privateKey),
    headers: registrar,
  });
  const keystore = await createPatientKeystore(patientKey.privateKey, passphrase);
  const patientSecret = password();
  const created = await admin<{ totpSecret: string }>('/users', {
    username: 'maria.rivera',
    password: patientSecret,
    fhirUser: `Patient/${patient.id}`,
    keystore,
  });
  accounts.push({
    username: 'maria.rivera',
    password: patientSecret,
    totpSecret: created.totpSecret,
    fhirUser: `Patient/${patient.id}`,
    roles: [],
  });
  const client = await admin<{ clientId: string }>('/clients', {
    name: 'CareLedger demo SMART app',
    clientId: 'careledger-demo-app',
    redirectUris: ['http://127.0.0.1/callback'],
  });
  const users: DemoUsers = {
    node: hospital.name,
    fhirBaseUrl: `${hospital.url}/fhir`,
    accounts,
    smartClient: { clientId: client.clientId, redirectUri: 'http://127.0.0.1/callback' },
    patientKeystorePassphrase: passphrase,
    patientKeystore: keystore,
  };
  writeFileDurably(file, `${JSON.stringify(users, null, 2)}\n`, 0o600);
  log(`[${hospital.name}] enrolled the demo users (credentials in ${file})`);
  return users;
}
