/**
 * A CareLedger consortium spread over the hosts of a test network (test/support/netns-network.ts):
 * anvil on a chain host, and each member's real `careledger node start` process on a host of its
 * own, serving HTTPS on its own address only, trusting the consortium's CA (NODE_EXTRA_CA_CERTS).
 * The node folders are made with the same code as `careledger node init` and `chain deploy`, from
 * the test process (the operator's workstation on the network).
 */
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { resolveAnvilBinary } from '../../src/chain/index.js';
import { generateTotp } from '../../src/identity/index.js';
import type { GenesisMember } from '../../src/ledger/index.js';
import { deployConsortium } from '../../src/network/deploy-consortium.js';
import { initNode } from '../../src/network/init-node.js';
import { type NodeConfig, nodePaths } from '../../src/node/node-config.js';
import { cliNodeArgs } from './cli-entry.js';
import type { VirtualLan } from './netns-network.js';
import type { TestCa } from './netns-tls.js';
import { ANVIL_PRIVATE_KEYS } from './test-anvil.js';

const NODE_PORT = 8443;
const CHAIN_PORT = 8545;
export const CHAIN_ID = 31337;

/** Waits for `predicate`, polling, at most `seconds`; the error names what did not happen. */
export async function waitFor(
  what: string,
  predicate: () => Promise<boolean>,
  seconds: number,
  context: () => string = () => '',
): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (await predicate().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${seconds} s${context()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Keeps the last lines a process wrote, for failure messages. */
function collectLines(child: ChildProcess, lines: string[], onLine?: (line: string) => void): void {
  const take = (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line);
      if (lines.length > 400) lines.shift();
      onLine?.(line);
    }
  };
  child.stdout?.on('data', take);
  child.stderr?.on('data', take);
}

export interface ChainHost {
  readonly url: string;
  readonly child: ChildProcess;
  close(): void;
}

/** anvil on the chain host, listening on that host's address only; the test process reaches it over the bridge. */
export async function startChainHost(lan: VirtualLan, host: string): Promise<ChainHost> {
  const home = mkdtempSync(join(tmpdir(), 'careledger-netns-anvil-'));
  const address = lan.hosts[host]?.address as string;
  const child = lan.spawn(
    host,
    resolveAnvilBinary(),
    // Gas free, as on the consortium's zero-base-fee QBFT network (docs/deploy/besu-qbft.md).
    [
      '--host',
      address,
      '--port',
      String(CHAIN_PORT),
      '--chain-id',
      String(CHAIN_ID),
      '--base-fee',
      '0',
      '--gas-price',
      '0',
      '--gas-limit',
      '1000000000',
      '--silent',
    ],
    { env: { ...process.env, HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const lines: string[] = [];
  collectLines(child, lines);
  const url = `http://${address}:${CHAIN_PORT}`;
  await waitFor(
    'anvil answers on the chain host',
    async () =>
      (
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
          signal: AbortSignal.timeout(2_000),
        })
      ).ok,
    30,
    () => `: ${lines.slice(-5).join(' | ')}`,
  );
  return { url, child, close: () => rmSync(home, { recursive: true, force: true }) };
}

export interface MemberFolder {
  readonly name: string;
  readonly host: string;
  readonly dir: string;
  readonly url: string;
  readonly member: GenesisMember;
  readonly config: NodeConfig;
  readonly adminToken: string;
  readonly tls: { certFile: string; keyFile: string };
}

/**
 * `node init` for each member on its host's address (HTTPS on port 8443), then `chain deploy` of
 * the consortium with them as founders (k = 2), from anvil's first well-known account.
 */
export async function initConsortium(
  lan: VirtualLan,
  work: string,
  chainUrl: string,
  ca: TestCa,
  members: readonly { name: string; host: string; role: string }[],
): Promise<MemberFolder[]> {
  const deploymentFile = join(work, 'deployment.json');
  const folders: MemberFolder[] = [];
  for (const { name, host, role } of members) {
    const address = lan.hosts[host]?.address as string;
    const url = `https://${address}:${NODE_PORT}`;
    const dir = join(work, name);
    const { config, member } = await initNode({
      dir,
      name,
      organization: `Netns ${name}`,
      role,
      publicUrl: url,
      chainRpc: chainUrl,
      chainId: CHAIN_ID,
      deploymentFile,
      host: address,
      port: NODE_PORT,
    });
    // Anchor every second, so a test sees its checkpoints on the chain soon.
    const withLog: NodeConfig = { ...config, log: { anchorIntervalMs: 1_000 } };
    writeFileSync(nodePaths(dir).config, JSON.stringify(withLog, null, 2), { mode: 0o600 });
    folders.push({
      name,
      host,
      dir,
      url,
      member,
      config: withLog,
      adminToken: readFileSync(nodePaths(dir).adminToken, 'utf8').trim(),
      tls: ca.issue(name, address),
    });
  }
  const keyFile = join(work, 'deployer.key');
  writeFileSync(keyFile, `${ANVIL_PRIVATE_KEYS[0]}\n`, { mode: 0o600 });
  await deployConsortium({
    rpcUrl: chainUrl,
    keyFile,
    genesis: { threshold: 2, members: folders.map((f) => f.member) },
    out: deploymentFile,
  });
  return folders;
}

export interface RunningMember {
  readonly folder: MemberFolder;
  readonly child: ChildProcess;
  /** The node's log lines (last 400). */
  readonly lines: string[];
}

/**
 * `careledger node start --tls-cert --tls-key [--workers n]` inside the member's namespace, with the
 * consortium CA as an extra trusted root; resolves once every HTTP process listens.
 */
export async function startMember(
  lan: VirtualLan,
  folder: MemberFolder,
  ca: TestCa,
  workers = 1,
): Promise<RunningMember> {
  // Chain, keys and database come from the node folder, not from this process's environment.
  const {
    CARELEDGER_CHAIN_RPC_URL: _rpc,
    CARELEDGER_CHAIN_KEY_FILE: _key,
    CARELEDGER_DATABASE_URL: _db,
    ...environment
  } = process.env;
  const child = lan.spawn(
    folder.host,
    process.execPath,
    [
      ...cliNodeArgs(),
      'node',
      'start',
      '--dir',
      folder.dir,
      '--tls-cert',
      folder.tls.certFile,
      '--tls-key',
      folder.tls.keyFile,
      '--workers',
      String(workers),
    ],
    { env: { ...environment, NODE_EXTRA_CA_CERTS: ca.certFile }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let listening = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${folder.name} did not listen within 240 s: ${lines.slice(-8).join(' | ')}`)),
      240_000,
    );
    collectLines(child, lines, (line) => {
      if (!line.includes('listening on')) return;
      listening++;
      if (listening === workers) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${folder.name} exited during start (${code}): ${lines.slice(-8).join(' | ')}`));
    });
  });
  return { folder, child, lines };
}

export interface Clinician {
  readonly token: string;
  readonly fhirUser: string;
  readonly ledgerAddress: `0x${string}`;
}

/**
 * The member's operator enrols a clinician who also registers patients, as in production: attests
 * their ledger key on ConsortiumRegistry, creates their account, registers a SMART app; the clinician
 * then signs in with password and TOTP (authorization code with PKCE) and gets an access token.
 */
export async function signInClinician(folder: MemberFolder, httpsFetch: typeof fetch): Promise<Clinician> {
  const admin = async (path: string, body: unknown) => {
    const response = await httpsFetch(`${folder.url}/admin${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${folder.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) throw new Error(`${folder.name} /admin${path}: ${response.status} ${text}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  const key = privateKeyToAccount(generatePrivateKey());
  const fhirUser = `Practitioner/${folder.name}-clinician`;
  await admin('/practitioners', {
    practitioner: key.address,
    credentialHash: `0x${randomBytes(32).toString('hex')}`,
    qualificationCode: 'MD',
    expiresAt: Math.floor(Date.now() / 1000) + 86_400,
  });
  const password = randomBytes(12).toString('base64url');
  const username = `${folder.name}.clinician`;
  const user = await admin('/users', {
    username,
    password,
    fhirUser,
    roles: ['clinician', 'registrar'],
    ledgerAddress: key.address,
  });
  const redirectUri = 'http://127.0.0.1/callback';
  const client = await admin('/clients', { name: `${folder.name} EHR`, redirectUris: [redirectUri] });
  // Sign-in checks the attestation in the node's chain index: wait until it is indexed.
  await waitFor(
    `${folder.name} indexed the clinician's attestation`,
    async () => {
      const response = await httpsFetch(
        `${folder.url}/ledger/practitioners?organization=${folder.member.account}`,
        { headers: { authorization: `Bearer ${folder.adminToken}` } },
      );
      const body = (await response.json()) as { practitioners?: { address: string; valid: boolean }[] };
      return (body.practitioners ?? []).some((p) => p.address === key.address && p.valid);
    },
    30,
  );
  const verifier = randomBytes(32).toString('base64url');
  const fhirBaseUrl = `${folder.url}/fhir`;
  const signIn = await httpsFetch(`${folder.url}/oauth/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      response_type: 'code',
      client_id: client.clientId as string,
      redirect_uri: redirectUri,
      scope: 'openid fhirUser user/*.cruds',
      state: randomBytes(8).toString('hex'),
      aud: fhirBaseUrl,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
      username,
      password,
      totp: generateTotp(user.totpSecret as string, Date.now()),
    }).toString(),
  });
  const location = signIn.headers.get('location');
  const code = location === null ? null : new URL(location).searchParams.get('code');
  if (code === null)
    throw new Error(`${folder.name}: sign-in refused (${signIn.status}): ${await signIn.text()}`);
  const token = await httpsFetch(`${folder.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: client.clientId as string,
      code_verifier: verifier,
    }).toString(),
  });
  const answer = (await token.json()) as { access_token?: string };
  if (answer.access_token === undefined)
    throw new Error(`${folder.name}: no access token: ${JSON.stringify(answer)}`);
  return { token: answer.access_token, fhirUser, ledgerAddress: key.address };
}

/** The writer script (test/support/netns-writer.ts) run inside a host's namespace; resolves with its output. */
export function runInHost(
  lan: VirtualLan,
  host: string,
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = lan.spawn(host, process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}
