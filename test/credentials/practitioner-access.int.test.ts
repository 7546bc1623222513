/**
 * Issue 21 item 3 on a real node and chain: with `practitionerCredentials.required`, a clinician works
 * while their licence verifies against the chain; a board suspends it in one transaction from
 * outside, and after the node's index follows that block the clinician's next request is refused 403
 * with the reason, recorded in the patient's access history (AuditEvent outcome 4).
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { type Address, createPublicClient, createWalletClient, http } from 'viem';
import { foundry } from 'viem/chains';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  issuerKeyOnChain,
  registerIssuerKeyData,
  setStatusData,
} from '../../src/credentials/credential-ledger.js';
import {
  buildLicenseCredential,
  practitionerDid,
  V2_0360_SYSTEM,
} from '../../src/credentials/practitioner-credential.js';
import { issueCredential } from '../../src/credentials/vc-jwt.js';
import {
  consortiumRegistryAbi,
  consortiumRegistryBytecode,
  credentialStatusAbi,
  credentialStatusBytecode,
} from '../../src/ledger/contracts.generated.js';
import { type RunningNode, startNode } from '../../src/node/start-node.js';
import { memberInput } from '../contracts/fixtures.js';
import { prepareSoloNode, type SoloNodeFolder } from '../support/start-solo-node.js';
import { anvilAccount } from '../support/test-anvil.js';

const BOARD = anvilAccount(7);
const ISSUER = 'https://board.example.gov/ma';
const DR = anvilAccount(8).address;

let folder: SoloNodeFolder;
let node: RunningNode;
let credentialStatus: Address;
let directoryFile: string;

const wallet = () =>
  createWalletClient({ account: BOARD, chain: foundry, transport: http(folder.chain.rpcUrl) });
const reader = () => createPublicClient({ chain: foundry, transport: http(folder.chain.rpcUrl) });

async function boardSends(data: `0x${string}`, to: Address = credentialStatus): Promise<void> {
  const hash = await wallet().sendTransaction({ to, data });
  const receipt = await reader().waitForTransactionReceipt({ hash, pollingInterval: 20 });
  expect(receipt.status).toBe('success');
}

async function deploy(abi: unknown, bytecode: `0x${string}`, args: readonly unknown[]): Promise<Address> {
  const hash = await wallet().deployContract({ abi: abi as never, bytecode, args: args as never });
  const receipt = await reader().waitForTransactionReceipt({ hash, pollingInterval: 20 });
  return receipt.contractAddress as Address;
}

async function licence(key: JWK, kid: string, index: number): Promise<string> {
  const credential = buildLicenseCredential({
    issuer: ISSUER,
    validFrom: new Date('2026-01-01T00:00:00Z'),
    validUntil: new Date('2099-01-01T00:00:00Z'),
    subject: {
      id: practitionerDid(31337, DR),
      licenseNumber: 'MD-4411',
      jurisdiction: 'US-MA',
      qualification: { system: V2_0360_SYSTEM, code: 'MD' },
    },
    status: {
      index,
      revocationList: `${ISSUER}/status/revocation`,
      suspensionList: `${ISSUER}/status/suspension`,
    },
  });
  return issueCredential(credential, { privateKey: key, kid });
}

beforeAll(async () => {
  directoryFile = join('/tmp', `careledger-practitioners-${process.pid}-${Date.now()}.json`);
  folder = await prepareSoloNode({ practitionerCredentials: { required: true, directoryFile } });
  // A licensing board admitted in its consortium's genesis, and its CredentialStatus contract; the
  // node's deployment record is pointed at it (the solo node itself is a provider, not a board).
  const registry = await deploy(consortiumRegistryAbi, consortiumRegistryBytecode, [
    [memberInput(BOARD.address, 'board', 'licensing-board')],
    1,
  ]);
  credentialStatus = await deploy(credentialStatusAbi, credentialStatusBytecode, [registry]);
  const pair = await generateKeyPair('ES256', { extractable: true });
  const key = await exportJWK(pair.privateKey);
  const onChain = await issuerKeyOnChain(await exportJWK(pair.publicKey));
  await boardSends(registerIssuerKeyData(ISSUER, onChain));
  const deploymentFile = join(folder.dir, 'deployment.json');
  const deployment = JSON.parse(readFileSync(deploymentFile, 'utf8'));
  deployment.contracts.credentialStatus = credentialStatus;
  writeFileSync(deploymentFile, JSON.stringify(deployment));
  writeFileSync(
    directoryFile,
    JSON.stringify({
      'dr-1': { credential: await licence(key, onChain.kid, 42), account: DR },
      'dr-forged': {
        credential: await licence(
          await exportJWK((await generateKeyPair('ES256', { extractable: true })).privateKey),
          onChain.kid,
          43,
        ),
        account: DR,
      },
    }),
  );
  node = await startNode(folder.nodeDir, { log: () => undefined, port: 0 });
});

afterAll(async () => {
  await node?.close();
  await folder?.chain.stop();
  rmSync(directoryFile, { force: true });
  if (folder !== undefined) rmSync(folder.dir, { recursive: true, force: true });
});

const as = (who: string) => ({ 'x-careledger-identity': who, 'x-careledger-purpose': 'TREAT' });

describe('the live licence check', () => {
  it('admits a licensed clinician, refuses them after a suspension on chain, and records why', async () => {
    const created = await node.app.request('/fhir/Patient', {
      method: 'POST',
      headers: { ...as('Practitioner/dr-1'), 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Quux' }], birthDate: '1970-02-28' }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const id = ((await created.json()) as { id: string }).id;
    expect((await node.app.request(`/fhir/Patient/${id}`, { headers: as('Practitioner/dr-1') })).status).toBe(
      200,
    );

    for (const [who, reason] of [
      ['Practitioner/dr-forged', 'practitioner credential: bad-signature'],
      ['Practitioner/dr-nobody', 'practitioner credential: no-credential (none enrolled)'],
    ] as const) {
      const refused = await node.app.request(`/fhir/Patient/${id}`, { headers: as(who) });
      expect(refused.status).toBe(403);
      expect(JSON.stringify(await refused.json())).toContain(reason);
    }

    await boardSends(setStatusData(42, 'suspension', true));
    await node.credentialIndex?.sync(); // the node's block follower does this each interval
    const refused = await node.app.request(`/fhir/Patient/${id}`, { headers: as('Practitioner/dr-1') });
    expect(refused.status).toBe(403);
    expect(JSON.stringify(await refused.json())).toContain('practitioner credential: suspended');

    const history = await node.app.request(`/fhir/AuditEvent?patient=Patient/${id}`, {
      headers: as(`Patient/${id}`),
    });
    expect(history.status).toBe(200);
    const events =
      (
        (await history.json()) as { entry?: { resource: { outcome?: string; outcomeDesc?: string } }[] }
      ).entry?.map((e) => e.resource) ?? [];
    expect(events.filter((e) => e.outcome === '4').map((e) => e.outcomeDesc)).toContain(
      'practitioner credential: suspended',
    );

    await boardSends(setStatusData(42, 'suspension', false));
    await node.credentialIndex?.sync();
    expect((await node.app.request(`/fhir/Patient/${id}`, { headers: as('Practitioner/dr-1') })).status).toBe(
      200,
    );
  });
});
