/**
 * Decision 0021 end to end, on the demo consortium: a guardian acts for two wards through the CLI
 * (`patient consent delegate-key`, `patient consent grant --for`), the hospital's registrar attests each
 * guardianship with the per-ward key, and the lab enforces the guardian's grant for the hospital's reads.
 * Nothing the chain holds names the guardian's own account; the two wards show two unrelated addresses;
 * ending the guardianship (an event) ends the grant at the lab and refuses the guardian's next one; a
 * forged delegate signature is refused with the reason.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { type Address, type Hex, parseEventLogs } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readChainStatus } from '../../src/cli/commands/chain-status.js';
import type { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { registerExchangeCommands } from '../../src/cli/commands/records-exchange.js';
import { deriveWardDelegateKey } from '../../src/consent/index.js';
import { createPatientKeystore } from '../../src/identity/index.js';
import {
  consentRegistryAbi,
  createConsentDomain,
  createDelegateKeyTypedData,
  createGrantSalt,
  createGrantTypedData,
  encodeCategories,
  encodePurposes,
  loadDeployment,
} from '../../src/ledger/index.js';
import { countTransactions, findOnChain, readChainContents } from '../support/chain-scan.js';
import { enrolPatientKeyOverHttp } from '../support/enrol-patient-key.js';
import { startDemoConsortium } from '../support/start-demo-consortium.js';

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-guardian-'));
const keyDir = mkdtempSync(join(tmpdir(), 'careledger-guardian-key-'));
let dev: DevConsortium;
let hospital: { url: string; address: Address };
let lab: { url: string; address: Address };
let adminToken: string;
let domain: ReturnType<typeof createConsentDomain>;

/** The guardian's own ledger key, in their keystore: it signs nothing that reaches the chain. */
const guardianOwnKey = generatePrivateKey();
const guardian = privateKeyToAccount(guardianOwnKey).address;
const wards = [privateKeyToAccount(generatePrivateKey()), privateKeyToAccount(generatePrivateKey())];
const labPatientIds: string[] = [];
const delegates: { delegate: Address; delegateSignature: Hex; delegationId?: Hex }[] = [];
let grantId: Hex;

const clinician = { 'x-careledger-identity': 'Practitioner/dr-1', 'content-type': 'application/fhir+json' };
async function post(url: string, body: unknown, headers: Record<string, string> = clinician) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown>,
  };
}

/** Runs `careledger --data-dir <demo> patient consent …` in-process, with the guardian's keystore. */
async function cli(...args: string[]): Promise<string> {
  let stdout = '';
  const program = new Command().option('--data-dir <dir>').exitOverride();
  registerExchangeCommands(program, { stdout: { write: (text: string) => (stdout += text) } });
  await program.parseAsync(
    [
      '--data-dir',
      dataDir,
      'patient',
      'consent',
      ...args,
      '--keystore',
      join(keyDir, 'keystore.json'),
      '--passphrase-file',
      join(keyDir, 'passphrase'),
      '--node',
      hospital.url,
    ],
    { from: 'user' },
  );
  return stdout;
}

/** How many of the ward's lab results the hospital sees at the lab, reading as itself. */
async function hospitalSeesAtLab(ward: number): Promise<number> {
  const response = await fetch(
    `${lab.url}/fhir/Observation?subject=Patient/${labPatientIds[ward]}&_total=accurate`,
    { headers: { 'x-careledger-identity': `Organization/${hospital.address}` } },
  );
  return ((await response.json()) as { total: number }).total;
}
async function waitFor(predicate: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('the condition did not hold within 15 s');
}

beforeAll(async () => {
  dev = await startDemoConsortium(dataDir);
  const status = await readChainStatus(dataDir, dev.chain.rpcUrl);
  const member = (name: string) => ({
    url: dev.nodes.find((n) => n.name === name)?.url as string,
    address: status.members.find((m) => m.name.toLowerCase().includes(name))?.address as Address,
  });
  hospital = member('hospital');
  lab = member('lab');
  adminToken = readFileSync(join(dataDir, 'nodes', 'hospital', 'admin.token'), 'utf8').trim();
  const deployment = loadDeployment(join(dataDir, 'chain', 'deployment.json'));
  domain = createConsentDomain(deployment.chainId, deployment.contracts.consentRegistry);
  writeFileSync(join(keyDir, 'passphrase'), 'guardian passphrase 1');
  writeFileSync(
    join(keyDir, 'keystore.json'),
    JSON.stringify(await createPatientKeystore(guardianOwnKey, 'guardian passphrase 1', { n: 2 ** 15 })),
  );
  // Each ward is a patient of the lab, with a ledger key enrolled there and a lab result.
  for (const ward of wards) {
    const created = await post(`${lab.url}/fhir/Patient`, {
      resourceType: 'Patient',
      birthDate: '2016-05-01',
    });
    const id = created.body.id as string;
    labPatientIds.push(id);
    await enrolPatientKeyOverHttp(`${lab.url}/fhir`, id, ward);
    await post(`${lab.url}/fhir/Observation`, {
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
      subject: { reference: `Patient/${id}` },
    });
  }
}, 180_000);

afterAll(async () => {
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(keyDir, { recursive: true, force: true });
});

describe('a guardian acts for wards through per-ward delegate keys (decision 0021)', {
  timeout: 120_000,
}, () => {
  it('gives each ward its own delegate address, and the registrar attests the guardian with it', async () => {
    for (const ward of wards) {
      const printed = JSON.parse(await cli('delegate-key', '--ward', ward.address, '--json')) as {
        ward: Address;
        delegate: Address;
        delegateSignature: Hex;
      };
      expect(printed.ward).toBe(ward.address);
      delegates.push(printed);
    }
    expect(delegates[0]?.delegate).not.toBe(delegates[1]?.delegate);
    expect(delegates.map((d) => d.delegate)).not.toContain(guardian);

    // A registrar given the guardian's own address, with an acceptance it did not sign, is refused.
    const forged = await post(
      `${hospital.url}/admin/guardians`,
      {
        patient: wards[0]?.address,
        guardian,
        notAfter: 1_900_000_000,
        guardianSignature: await privateKeyToAccount(generatePrivateKey()).signTypedData(
          createDelegateKeyTypedData(domain, { ward: wards[0]?.address as Address, delegate: guardian }),
        ),
      },
      { authorization: `Bearer ${adminToken}` },
    );
    expect(forged.status).toBe(400);
    expect(forged.text).toContain('the delegate key did not sign its acceptance of this ward');

    for (const [i, ward] of wards.entries()) {
      const d = delegates[i] as (typeof delegates)[number];
      const attested = await post(
        `${hospital.url}/admin/guardians`,
        {
          patient: ward.address,
          guardian: d.delegate,
          notBefore: 0,
          notAfter: 1_900_000_000,
          guardianSignature: d.delegateSignature,
        },
        { authorization: `Bearer ${adminToken}` },
      );
      expect(attested.status, attested.text).toBe(201);
      d.delegationId = attested.body.delegationId as Hex;
      expect(d.delegationId).toMatch(/^0x[0-9a-f]{64}$/);
    }
    // The first ward's key cannot also serve the second (it would link them), even with its own valid
    // acceptance: the contract says why.
    const firstKey = privateKeyToAccount(deriveWardDelegateKey(guardianOwnKey, wards[0]?.address as Address));
    const reused = await post(
      `${hospital.url}/admin/guardians`,
      {
        patient: wards[1]?.address,
        guardian: firstKey.address,
        notAfter: 1_900_000_000,
        guardianSignature: await firstKey.signTypedData(
          createDelegateKeyTypedData(domain, {
            ward: wards[1]?.address as Address,
            delegate: firstKey.address,
          }),
        ),
      },
      { authorization: `Bearer ${adminToken}` },
    );
    expect(reused.status, reused.text).not.toBe(201);
    expect(reused.text).toContain('a delegate key serves one ward only');
  });

  it('relays the grant the guardian signs for a ward, and the lab lets the hospital read through it', async () => {
    expect(await hospitalSeesAtLab(0)).toBe(0);
    const stdout = await cli(
      'grant',
      '--for',
      wards[0]?.address as string,
      '--to',
      'hospital',
      '--categories',
      'laboratory',
      '--purposes',
      'TREAT',
    );
    const m = /^grant (0x[0-9a-f]{64})$/m.exec(stdout);
    expect(m, stdout).not.toBeNull();
    grantId = m?.[1] as Hex;
    await waitFor(async () => (await hospitalSeesAtLab(0)) === 1);
    expect(await hospitalSeesAtLab(1)).toBe(0);
  });

  it('refuses a grant for a ward signed by the guardian’s own key (not the ward’s delegate), with the reason', async () => {
    const grant = {
      patient: wards[1]?.address as Address,
      grantee: hospital.address,
      categories: encodeCategories(['laboratory']),
      purposes: encodePurposes(['TREAT']),
      salt: createGrantSalt(),
      notBefore: 0n,
      notAfter: 1_900_000_000n,
      nonce: 0n,
    };
    const refused = await post(`${hospital.url}/ledger/consent/grants?wait=true`, {
      grant: Object.fromEntries(Object.entries(grant).map(([k, v]) => [k, String(v)])),
      signature: await privateKeyToAccount(guardianOwnKey).signTypedData(createGrantTypedData(domain, grant)),
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("the signature was not made by the patient's key");
  });

  it("keeps the guardian's own account out of everything the chain holds; each ward shows its own address", async () => {
    const contents = await readChainContents(dev.chain.rpcUrl);
    expect(countTransactions(contents)).toBeGreaterThan(5);
    expect(findOnChain(contents, guardian)).toEqual([]);
    const [a, b] = delegates.map((d) => d.delegate) as [Address, Address];
    expect(findOnChain(contents, a).length).toBeGreaterThan(0);
    expect(findOnChain(contents, b).length).toBeGreaterThan(0);
    // Nothing the chain holds puts the two delegate addresses together, and each sits with its own ward.
    expect(
      findOnChain(contents, a).filter(
        (where) => findOnChain(contents, b).includes(where) && where !== 'state (accounts and storage)',
      ),
    ).toEqual([]);
  });

  it('ends the guardianship with an event: the lab stops honouring the grant, and the next grant is refused', async () => {
    const d = delegates[0] as (typeof delegates)[number];
    const ended = await fetch(`${hospital.url}/admin/guardians/${d.delegationId}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(ended.status, await ended.clone().text()).toBe(200);
    const { txHash } = (await ended.json()) as { txHash: Hex };
    const receipt = (await fetch(dev.chain.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getTransactionReceipt', params: [txHash] }),
    }).then((r) => r.json())) as { result: { logs: never[] } };
    expect(
      parseEventLogs({
        abi: consentRegistryAbi,
        logs: receipt.result.logs,
        eventName: 'DelegationRevoked',
      })[0]?.args,
    ).toEqual({ delegationId: d.delegationId, patient: wards[0]?.address, delegate: d.delegate });

    await waitFor(async () => (await hospitalSeesAtLab(0)) === 0);
    const decision = (await (
      await fetch(
        `${lab.url}/ledger/consent/check?patient=${wards[0]?.address}&grantee=${hospital.address}&category=laboratory&purpose=TREAT`,
      )
    ).json()) as { allowed: boolean; reason?: string };
    expect(decision).toMatchObject({ allowed: false, reason: 'delegation-not-in-force' });
    expect(grantId).toMatch(/^0x/);

    await expect(
      cli('grant', '--for', wards[0]?.address as string, '--to', 'hospital', '--categories', 'laboratory'),
    ).rejects.toThrow(/the signature was not made by the patient's key/);
  });
});
