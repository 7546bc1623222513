/**
 * Decision 0014 (record locator amendment): a member run as `careledger node start --workers 2` on
 * SQLite announces on RecordLocator the Patients its workers store, without a restart. The workers
 * hold no announcer: they relay the ledger addresses they stored or erased to the primary over the
 * member's broadcast, and the primary announces them (deduplicated, retried). Real processes
 * (node:cluster), real SQLite, real anvil; the pointer is read from the chain itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { type Address, getAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createChainClient } from '../../src/chain/index.js';
import { loadDeployment, recordLocatorAbi } from '../../src/ledger/index.js';
import { nodePaths } from '../../src/node/node-config.js';
import { loadOrCreateLedgerKey } from '../../src/node/node-keys.js';
import { cliNodeArgs } from '../support/cli-entry.js';
import { enrolPatientKeyOverHttp, REGISTRAR_HEADERS } from '../support/enrol-patient-key.js';
import { findFreePort } from '../support/free-port.js';
import { prepareSoloNode, type SoloNodeFolder } from '../support/start-solo-node.js';

let folder: SoloNodeFolder;
let port: number;
let member: ChildProcess | undefined;
const lines: string[] = [];

/** Starts `node start --workers 2` and resolves once both workers listen. */
function startMember(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [...cliNodeArgs(), 'node', 'start', '--dir', folder.nodeDir, '--workers', '2'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let listening = 0;
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        lines.push(line);
        if (line.includes('listening on')) listening++;
        if (listening === 2) resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) =>
      reject(new Error(`member exited during start (${code}): ${lines.slice(-5).join(' | ')}`)),
    );
  });
}

const fhirBase = () => `http://127.0.0.1:${port}/fhir`;

/** The members RecordLocator lists for `patient`, read from the chain. */
async function locationsOnChain(patient: Address): Promise<readonly Address[]> {
  const deployment = loadDeployment(join(folder.dir, 'deployment.json'));
  const locator = deployment.contracts.recordLocator;
  if (locator === undefined) throw new Error('the deployment has no RecordLocator');
  return createChainClient(folder.chain.rpcUrl, 31337).readContract({
    address: locator,
    abi: recordLocatorAbi,
    functionName: 'locationsOf',
    args: [patient],
  });
}

/** Polls the chain until `ok` holds for `patient`'s locations (the outbox and mining are asynchronous). */
async function waitForLocations(
  patient: Address,
  ok: (located: readonly Address[]) => boolean,
): Promise<readonly Address[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const located = await locationsOnChain(patient);
    if (ok(located)) return located;
    if (Date.now() > deadline)
      throw new Error(`locations never matched; last log lines: ${lines.slice(-5).join(' | ')}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  port = await findFreePort();
  folder = await prepareSoloNode({ port });
  member = await startMember();
}, 240_000);

afterAll(async () => {
  if (member !== undefined && member.exitCode === null) {
    const exited = new Promise<void>((resolve) => member?.once('exit', () => resolve()));
    member.kill('SIGTERM');
    await exited;
  }
  await folder?.chain.stop();
  if (folder !== undefined) rmSync(folder.dir, { recursive: true, force: true });
});

test('a Patient enrolled through a worker is announced on RecordLocator without a restart, and withdrawn when erased', async () => {
  const created = await fetch(`${fhirBase()}/Patient`, {
    method: 'POST',
    headers: { ...REGISTRAR_HEADERS, 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Locator' }], birthDate: '1980-04-01' }),
  });
  expect(created.status).toBe(201);
  const id = ((await created.json()) as Resource).id as string;
  const key = privateKeyToAccount(generatePrivateKey());
  await enrolPatientKeyOverHttp(fhirBase(), id, key);

  const memberAddress = loadOrCreateLedgerKey(nodePaths(folder.nodeDir).ledgerKey).address;
  expect(await waitForLocations(key.address, (l) => l.length > 0)).toEqual([getAddress(memberAddress)]);

  // Erased through a worker: the primary withdraws the pointer.
  const token = readFileSync(join(folder.nodeDir, 'admin.token'), 'utf8').trim();
  const erased = await fetch(`http://127.0.0.1:${port}/admin/patients/${id}/erase`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}` },
  });
  expect(erased.status).toBe(200);
  expect(await waitForLocations(key.address, (l) => l.length === 0)).toEqual([]);
}, 120_000);
