/**
 * Issue 17 item 3: no code path depends on anvil. The consortium runs, through the real `careledger`
 * commands, on an EVM endpoint that is not the embedded chain: another chain id (4242), a non-zero
 * base fee, interval mining, and a proxy in front that refuses every non-standard JSON-RPC method
 * (anvil_*, evm_*, hardhat_*, debug_*…), as Besu would not have them. Two organizations `node init`,
 * one `chain deploy`s, both nodes start; a patient's signed grant is relayed and the hospital reads
 * the lab's records across. Then: a node refuses a chain whose contracts differ from its record,
 * `node doctor` says what is wrong, and a node serves HTTPS with --tls-cert/--tls-key.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Address, Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consortiumRegistryAbi, type Deployment, loadDeployment } from '../../src/ledger/index.js';
import { diagnoseNode } from '../../src/network/node-doctor.js';
import { type NodeConfig, nodePaths } from '../../src/node/node-config.js';
import { type RunningNode, startNode } from '../../src/node/start-node.js';
import { cliNodeArgs } from '../support/cli-entry.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { enrolPatientKeyOverHttp } from '../support/enrol-patient-key.js';
import { findFreePorts } from '../support/free-port.js';
import { type StandardRpcProxy, startStandardRpcProxy } from '../support/standard-rpc-proxy.js';
import { startTestAnvil, type TestAnvil } from '../support/test-anvil.js';

const CHAIN_ID = 4242;
const BASE_FEE = 1_000_000_000n;
const work = mkdtempSync(join(tmpdir(), 'careledger-external-evm-'));
let anvil: TestAnvil;
let proxy: StandardRpcProxy;
const running: RunningNode[] = [];
/** The nodes' log lines, shown when a wait fails. */
const nodeLog: string[] = [];
let hospital: RunningNode;
let lab: RunningNode;
const dirs = { hospital: join(work, 'hospital'), lab: join(work, 'lab') };
const deploymentFile = join(work, 'deployment.json');

// The commands get their chain and keys from their options here, not from the environment.
const { CARELEDGER_CHAIN_RPC_URL: _rpc, CARELEDGER_CHAIN_KEY_FILE: _key, ...environment } = process.env;

/** The real command line, in a child process (async: the proxy answers from this process). */
function careledger(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cliNodeArgs(), ...args], {
      env: environment,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function waitFor(what: string, predicate: () => Promise<boolean>, seconds = 60): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (Date.now() < deadline) {
    if (await predicate()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what}: not within ${seconds} s; the nodes said:\n${nodeLog.slice(-25).join('\n')}`);
}

const clinician = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-roles': 'clinician' };
async function http(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
) {
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...clinician, 'content-type': 'application/fhir+json', ...init.headers },
    ...(init.body === undefined
      ? {}
      : { body: typeof init.body === 'string' ? init.body : JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
}

function editConfig(dir: string, change: (config: NodeConfig) => NodeConfig): void {
  const path = nodePaths(dir).config;
  writeFileSync(path, JSON.stringify(change(JSON.parse(readFileSync(path, 'utf8')) as NodeConfig), null, 2), {
    mode: 0o600,
  });
}

const startQuiet = (dir: string, port: number, tls?: { certFile: string; keyFile: string }) =>
  startNode(dir, { port, log: (line) => nodeLog.push(line), ...(tls === undefined ? {} : { tls }) });

beforeAll(async () => {
  anvil = await startTestAnvil({
    args: ['--chain-id', String(CHAIN_ID), '--base-fee', String(BASE_FEE), '--block-time', '1'],
  });
  proxy = await startStandardRpcProxy(anvil.url);
  const [hospitalPort, labPort] = (await findFreePorts(2)) as [number, number];
  const members: Record<string, Address> = {};
  for (const [name, role, port] of [
    ['hospital', 'provider', hospitalPort],
    ['lab', 'lab', labPort],
  ] as const) {
    const init = await careledger(
      'node',
      'init',
      '--dir',
      dirs[name],
      '--chain-rpc',
      proxy.url,
      '--deployment',
      deploymentFile,
      '--name',
      name,
      '--organization',
      `External ${name}`,
      '--role',
      role,
      '--public-url',
      `http://127.0.0.1:${port}`,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--member-out',
      join(work, `${name}.member.json`),
    );
    expect(init.code, init.stderr).toBe(0);
    members[name] = (JSON.parse(init.stdout) as { account: Address }).account;
  }
  // The chain's genesis allocation, as network init writes it for Besu: the accounts that send
  // transactions hold ether, because this chain's gas is not free.
  const deployerKey = generatePrivateKey();
  const keyFile = join(work, 'deployer.key');
  writeFileSync(keyFile, `${deployerKey}\n`, { mode: 0o600 });
  for (const account of [privateKeyToAccount(deployerKey).address, ...Object.values(members)])
    await anvil.testClient.setBalance({ address: account, value: 10n ** 21n });

  const deploy = await careledger(
    'chain',
    'deploy',
    '--rpc',
    proxy.url,
    '--key-file',
    keyFile,
    '--chain-id',
    String(CHAIN_ID),
    '--member',
    join(work, 'hospital.member.json'),
    '--member',
    join(work, 'lab.member.json'),
    '--threshold',
    '2',
    '--out',
    deploymentFile,
  );
  expect(deploy.code, deploy.stderr).toBe(0);
  for (const dir of Object.values(dirs))
    editConfig(dir, (c) => ({ ...c, devIdentityHeader: true, log: { anchorIntervalMs: 500 } }));
  hospital = await startQuiet(dirs.hospital, hospitalPort);
  running.push(hospital);
  lab = await startQuiet(dirs.lab, labPort);
  running.push(lab);
}, 240_000);

afterAll(async () => {
  for (const node of running) await node.close().catch(() => undefined);
  await proxy?.close();
  await anvil?.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('a consortium on an external EVM chain (chain id 4242, base fee, standard JSON-RPC only)', () => {
  it('deploys with the recorded code hashes and the chain’s own id', () => {
    const deployment: Deployment = loadDeployment(deploymentFile);
    expect(deployment.chainId).toBe(CHAIN_ID);
    expect(Object.keys(deployment.codeHashes ?? {}).sort()).toEqual(Object.keys(deployment.contracts).sort());
    expect(hospital.config.chain.chainId).toBe(CHAIN_ID);
  });

  it('relays a patient’s grant and reads the lab’s records across, with no anvil method asked for', async () => {
    const patientHex = generatePrivateKey();
    const patientAddress = privateKeyToAccount(patientHex).address;
    const patient = {
      resourceType: 'Patient',
      name: [{ family: 'External', given: ['Pat'] }],
      birthDate: '1970-01-01',
    };
    const registrar = {
      'x-careledger-identity': 'Practitioner/registrar',
      'x-careledger-roles': 'registrar',
    };
    const hospitalPatient = (
      await http(`${hospital.url}/fhir/Patient`, { body: patient, headers: registrar })
    ).body.id as string;
    const labPatient = (await http(`${lab.url}/fhir/Patient`, { body: patient, headers: registrar })).body
      .id as string;
    // At each member's desk the patient proves possession of their key (issue 14 item 12).
    await enrolPatientKeyOverHttp(`${hospital.url}/fhir`, hospitalPatient, patientHex as Hex, registrar);
    await enrolPatientKeyOverHttp(`${lab.url}/fhir`, labPatient, patientHex as Hex, registrar);
    const observation = await http(`${lab.url}/fhir/Observation`, {
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
        code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
        subject: { reference: `Patient/${labPatient}` },
        valueQuantity: { value: 5.4, unit: 'mmol/L', system: 'http://unitsofmeasure.org', code: 'mmol/L' },
      },
    });
    expect(observation.status, JSON.stringify(observation.body)).toBe(201);

    // The grant's opening goes to the members that hold the patient's records (RecordLocator).
    await waitFor(
      'the lab announced the patient and anchored its log',
      async () => {
        const found = await http(`${hospital.url}/ledger/locations/${patientAddress}`);
        const anchors = await http(
          `${hospital.url}/ledger/anchors?origin=${encodeURIComponent(lab.config.logOrigin)}`,
        );
        return (
          ((found.body.members ?? []) as { address: string }[]).some(
            (m) => m.address === lab.ledger.outbox.address,
          ) && ((anchors.body.anchors ?? []) as { treeSize: number }[]).some((a) => a.treeSize > 1)
        );
      },
      90,
    );
    const deployment = loadDeployment(deploymentFile);
    const grant = await signGrantForNewPatient({
      chainId: deployment.chainId,
      consentRegistry: deployment.contracts.consentRegistry,
      grantee: hospital.ledger.outbox.address,
      categories: ['demographics', 'laboratory'],
      purposes: ['TREAT'],
      nowSeconds: Math.floor(Date.now() / 1000),
      patientKey: patientHex as Hex,
    });
    const relayed = await http(`${hospital.url}/ledger/consent/grants?wait=true`, {
      body: grant.body,
      headers: { 'content-type': 'application/json' },
    });
    expect(relayed.status, JSON.stringify(relayed.body)).toBeLessThan(300);
    let lastCheck: unknown;
    await waitFor('the lab indexed the grant', async () => {
      const check = await http(
        `${lab.url}/ledger/consent/check?patient=${patientAddress}&grantee=${hospital.ledger.outbox.address}&category=laboratory&purpose=TREAT`,
      );
      lastCheck = { status: check.status, body: check.body, relayed: relayed.body };
      return check.body.allowed === true;
    }).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(lastCheck)}`);
    });
    let report: { members: { member: string; status: string; kept: number }[] } = { members: [] };
    await waitFor(
      'the hospital kept the lab’s records',
      async () => {
        report = (
          await http(`${hospital.url}/fhir/Patient/${hospitalPatient}/$fetch-from-members?purpose=TREAT`, {
            method: 'POST',
          })
        ).body as typeof report;
        return report.members.some(
          (m) => m.member === lab.ledger.outbox.address && m.status === 'ok' && m.kept > 0,
        );
      },
      60,
    );
    const kept = await http(`${hospital.url}/fhir/Observation/${observation.body.id as string}`);
    expect(kept.status, JSON.stringify(report)).toBe(200);

    const head = await anvil.publicClient.getBlock({ blockTag: 'latest' });
    expect(head.baseFeePerGas ?? 0n).toBeGreaterThan(0n);
    expect(await anvil.publicClient.getChainId()).toBe(CHAIN_ID);
    expect(proxy.refused, `non-standard methods asked for: ${proxy.refused.join(', ')}`).toEqual([]);
    expect([...proxy.forwarded]).toContain('eth_sendRawTransaction');
  }, 240_000);

  it('`node doctor` passes the running lab node, then names a loose key file and a wrong clock', async () => {
    const healthy = await diagnoseNode(dirs.lab);
    expect(
      healthy.filter((c) => c.status === 'fail'),
      JSON.stringify(healthy),
    ).toEqual([]);
    expect(healthy.find((c) => c.check === 'contracts')?.status).toBe('ok');
    const key = nodePaths(dirs.lab).ledgerKey;
    chmodSync(key, 0o644);
    const skewed = await diagnoseNode(dirs.lab, { now: () => Date.now() + 600_000 });
    chmodSync(key, 0o600);
    expect(skewed.find((c) => c.check === 'file-modes' && c.status === 'fail')?.message).toContain(key);
    expect(skewed.find((c) => c.check === 'clock')).toMatchObject({ status: 'fail' });
    const cli = await careledger('node', 'doctor', '--dir', join(work, 'nowhere'));
    expect(cli.code).toBe(78);
    expect(cli.stdout).toMatch(/FAIL config/);
  }, 180_000);

  it('refuses to start a node whose deployment record does not match the chain’s contracts', async () => {
    const record = loadDeployment(deploymentFile);
    const forged = join(work, 'forged-deployment.json');
    writeFileSync(
      forged,
      JSON.stringify({
        ...record,
        codeHashes: { ...record.codeHashes, consentRegistry: `0x${'00'.repeat(32)}` },
      }),
    );
    const dir = join(work, 'forged-node');
    const init = await careledger(
      'node',
      'init',
      '--dir',
      dir,
      '--chain-rpc',
      proxy.url,
      '--deployment',
      forged,
      '--name',
      'forged',
      '--organization',
      'Forged',
      '--role',
      'provider',
      '--public-url',
      'http://127.0.0.1:1',
      '--host',
      '127.0.0.1',
    );
    expect(init.code, init.stderr).toBe(0);
    await expect(startQuiet(dir, 0)).rejects.toThrow(
      /ConsentRegistry|consentRegistry.*differs from the deployment record/,
    );
    const doctor = await diagnoseNode(dir);
    expect(doctor.find((c) => c.check === 'contracts')).toMatchObject({ status: 'fail' });
    editConfig(dir, (c) => ({ ...c, deploymentFile, chain: { ...c.chain, chainId: 31337 } }));
    await expect(startQuiet(dir, 0)).rejects.toThrow(/chain id 4242; node.json \(chain.chainId\) says 31337/);
  }, 180_000);

  it('admits a third member by `careledger member propose` and `member vote` (k = 2), then removes it', async () => {
    const init = await careledger(
      'node',
      'init',
      '--dir',
      join(work, 'pharmacy'),
      '--chain-rpc',
      proxy.url,
      '--deployment',
      deploymentFile,
      '--name',
      'pharmacy',
      '--organization',
      'External pharmacy',
      '--role',
      'pharmacy',
      '--public-url',
      'http://127.0.0.1:2',
      '--member-out',
      join(work, 'pharmacy.member.json'),
    );
    expect(init.code, init.stderr).toBe(0);
    const candidate = (JSON.parse(init.stdout) as { account: Address }).account;
    const proposed = await careledger(
      'member',
      'propose',
      '--dir',
      dirs.hospital,
      '--candidate',
      join(work, 'pharmacy.member.json'),
    );
    expect(proposed.code, proposed.stderr).toBe(0);
    const id = /proposal (\d+)/.exec(proposed.stdout)?.[1];
    expect(id, proposed.stdout).toBeDefined();
    const isMember = () =>
      anvil.publicClient.readContract({
        address: loadDeployment(deploymentFile).contracts.consortiumRegistry,
        abi: consortiumRegistryAbi,
        functionName: 'isActiveMember',
        args: [candidate],
      });
    expect(await isMember()).toBe(false);
    const voted = await careledger('member', 'vote', id as string, '--dir', dirs.lab);
    expect(voted.code, voted.stderr).toBe(0);
    expect(await isMember()).toBe(true);
    const again = await careledger('member', 'vote', id as string, '--dir', dirs.lab);
    expect(again.code).not.toBe(0);
    const removal = await careledger('member', 'propose', '--dir', dirs.lab, '--remove', candidate);
    expect(removal.code, removal.stderr).toBe(0);
    const removalId = /proposal (\d+)/.exec(removal.stdout)?.[1];
    const removed = await careledger('member', 'vote', removalId as string, '--dir', dirs.hospital);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await isMember()).toBe(false);
  }, 180_000);

  it('serves HTTPS with --tls-cert/--tls-key', async () => {
    const certFile = join(work, 'tls.crt');
    const keyFile = join(work, 'tls.key');
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '30',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    await hospital.close();
    running.splice(running.indexOf(hospital), 1);
    const secure = await startQuiet(dirs.hospital, 0, { certFile, keyFile });
    running.push(secure);
    expect(secure.url).toMatch(/^https:\/\//);
    const answer = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
      const req = httpsRequest(`${secure.url}/health`, { ca: readFileSync(certFile) }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(answer).toEqual({ status: 200, body: '{"status":"ok"}' });
    const doctor = await diagnoseNode(dirs.hospital, { tlsCertFile: certFile });
    expect(doctor.find((c) => c.check === 'tls')).toMatchObject({ status: 'ok' });
  }, 180_000);
});
