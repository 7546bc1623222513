/**
 * Issue 14 item 12 over a node's HTTP API (one member node in-process, real chain, real SQLite): a
 * clinician's or registrar's PUT, PATCH or transaction cannot set or change a Patient's ledger key
 * (403 with an OperationOutcome pointing to enrolment); `careledger patient key enrol` links it with
 * the keystore's signature over the node's challenge.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { Command } from 'commander';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEDGER_ADDRESS_SYSTEM, patientLedgerAddress } from '../../src/access/index.js';
import { registerPatientKeyEnrolCommand } from '../../src/cli/commands/patient-key-enrol.js';
import { createPatientKeystore, MIN_PATIENT_KEYSTORE_N } from '../../src/identity/index.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

const REGISTRAR = { 'x-careledger-identity': 'Practitioner/reg-1', 'x-careledger-roles': 'registrar' };
const CLINICIAN = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-roles': 'clinician' };
const FHIR_JSON = { 'content-type': 'application/fhir+json' };

interface Answer {
  readonly id?: string;
  readonly resourceType?: string;
  readonly issue?: readonly { readonly diagnostics?: string }[];
}

let solo: SoloNode;
let dir: string;
const patientKey = generatePrivateKey();
const insider = privateKeyToAccount(generatePrivateKey()).address;

async function fhir(method: string, path: string, body: unknown, headers: Record<string, string>) {
  const response = await solo.node.app.request(`http://127.0.0.1/fhir${path}`, {
    method,
    headers: {
      ...headers,
      ...(method === 'PATCH' ? { 'content-type': 'application/json-patch+json' } : FHIR_JSON),
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Answer };
}

beforeAll(async () => {
  solo = await startSoloNode();
  dir = mkdtempSync(join(tmpdir(), 'careledger-enrol-'));
}, 120_000);

afterAll(async () => {
  await solo?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('a Patient’s ledger key over the FHIR API', () => {
  it('refuses PUT, PATCH and transaction writes of the identifier with 403 and an OperationOutcome naming enrolment', async () => {
    const created = await fhir(
      'POST',
      '/Patient',
      { resourceType: 'Patient', name: [{ family: 'Desk' }] },
      REGISTRAR,
    );
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    const withKey = {
      resourceType: 'Patient',
      id,
      identifier: [{ system: LEDGER_ADDRESS_SYSTEM, value: insider }],
    };
    for (const who of [REGISTRAR, CLINICIAN]) {
      const answers = [
        await fhir('PUT', `/Patient/${id}`, withKey, who),
        await fhir(
          'PATCH',
          `/Patient/${id}`,
          [{ op: 'add', path: '/identifier', value: [{ system: LEDGER_ADDRESS_SYSTEM, value: insider }] }],
          who,
        ),
        await fhir(
          'POST',
          '',
          {
            resourceType: 'Bundle',
            type: 'transaction',
            entry: [{ resource: withKey, request: { method: 'PUT', url: `Patient/${id}` } }],
          },
          who,
        ),
        await fhir(
          'POST',
          '/Patient',
          { resourceType: 'Patient', identifier: [{ system: LEDGER_ADDRESS_SYSTEM, value: insider }] },
          who,
        ),
      ];
      for (const answer of answers) {
        expect(answer.status).toBe(403);
        expect(answer.body.resourceType).toBe('OperationOutcome');
        expect(answer.body.issue?.[0]?.diagnostics).toMatch(/key enrolment.*\$enrol-ledger-key/);
      }
    }
    const read = await solo.node.app.request(`http://127.0.0.1/fhir/Patient/${id}`, { headers: REGISTRAR });
    expect(patientLedgerAddress((await read.json()) as Resource)).toBeUndefined();
  });

  it('careledger patient key enrol links the keystore’s key with its signature over the node’s challenge', async () => {
    const created = await fhir(
      'POST',
      '/Patient',
      { resourceType: 'Patient', name: [{ family: 'Cli' }] },
      REGISTRAR,
    );
    const id = created.body.id as string;
    const keystore = join(dir, 'keystore.json');
    writeFileSync(
      keystore,
      JSON.stringify(await createPatientKeystore(patientKey, 'correct horse', { n: MIN_PATIENT_KEYSTORE_N })),
    );
    let printed = '';
    const program = new Command().exitOverride();
    registerPatientKeyEnrolCommand(program.command('patient').command('key'), {
      env: { CARELEDGER_PASSPHRASE: 'correct horse' },
      stdout: { write: (text: string) => (printed += text) },
      // The node authenticates the desk's token; here the development header stands in for it.
      fetch: async (url, init) => {
        const headers = new Headers(init?.headers);
        expect(headers.get('authorization')).toBe('Bearer desk-token');
        headers.delete('authorization');
        for (const [name, value] of Object.entries(REGISTRAR)) headers.set(name, value);
        return solo.node.app.request(String(url).replace(/^https?:\/\/[^/]+/, 'http://127.0.0.1'), {
          ...init,
          headers,
        });
      },
    });
    await program.parseAsync(
      [
        'patient',
        'key',
        'enrol',
        id,
        '--keystore',
        keystore,
        '--node',
        'http://node.test',
        '--token',
        'desk-token',
      ],
      { from: 'user' },
    );
    const address = privateKeyToAccount(patientKey).address;
    expect(printed).toBe(`linked ${address} to Patient/${id} at http://node.test\n`);
    const read = await solo.node.app.request(`http://127.0.0.1/fhir/Patient/${id}`, { headers: REGISTRAR });
    expect(patientLedgerAddress((await read.json()) as Resource)).toBe(address);
  });
});
