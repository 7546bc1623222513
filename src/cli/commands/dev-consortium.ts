import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { privateKeyToAccount } from 'viem/accounts';
import { createChainClient, EmbeddedChain, terminate } from '../../chain/index.js';
import { CareLedgerError } from '../../errors/index.js';
import { openPatientKeystore } from '../../identity/index.js';
import {
  type ConsentRelayLimitsConfig,
  type Deployment,
  deployContracts,
  type GenesisMember,
  loadDeployment,
  Outbox,
  saveDeployment,
} from '../../ledger/index.js';
import { loadNodeConfig, type NodeConfig, nodePaths, saveNodeConfig } from '../../node/node-config.js';
import {
  loadOrCreateAdminToken,
  loadOrCreateLedgerKey,
  loadOrCreateLogSignerKey,
} from '../../node/node-keys.js';
import { openDatabase } from '../../storage/sqlite/open-database.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../storage/sqlite/sqlite-outbox-storage.js';
import { writeFileDurably } from '../../storage/write-file-durably.js';
import { chainDir, chainInfoFile, deploymentFile, nodeDir, runFile } from '../data-dir.js';
import { requestJson } from '../http-json.js';
import { enforceDemoCredentials } from './demo-credentials.js';
import { DEMO_MEMBERS, type DemoMember } from './demo-members.js';
import { seedDemoPartners } from './demo-partners.js';
import { type DemoRecordsResult, seedDemoRecords } from './demo-records.js';
import type { DemoResearchResult } from './demo-research.js';
import {
  licenceCheckingMembers,
  type SeedingContext,
  startCredentialSeeding,
  startResearchSeeding,
  startSupplySeeding,
} from './demo-seeding.js';
import type { DemoSupplyResult } from './demo-supply.js';
import { type DemoUsers, enrolDemoUsers } from './demo-users.js';

/**
 * How long a node may take to stop on SIGTERM before it is killed: it drains its outbox (up to
 * OUTBOX_DRAIN_MS) after finishing the requests under way.
 */
const NODE_STOP_GRACE_MS = 20_000;
const OUTBOX_DRAIN_MS = 5_000;

/** k of the k-of-n admission vote, fixed at genesis. */
const DEMO_THRESHOLD = 2;
const CHAIN_ID = 31337;

export interface DevConsortiumOptions {
  readonly dataDir: string;
  readonly chainPort?: number;
  readonly basePort?: number;
  /**
   * Explicit ports of the nodes, in DEMO_MEMBERS order (tests pick free ones); default basePort, +1,
   * +2, …. Only as many members start as ports are given: three ports start the hospital, the lab and
   * the pharmacy without the partners.
   */
  readonly nodePorts?: readonly number[];
  readonly log?: (line: string) => void;
  /** Restart a node process that dies on its own (default true). */
  readonly superviseNodes?: boolean;
  /** Seed the demo patient's records across the members and three more patients (`careledger dev`). */
  readonly seedDemoRecords?: boolean;
  /**
   * A PostgreSQL database per member, by name (issue 17: the crash suites on PostgreSQL): its process
   * gets it as CARELEDGER_DATABASE_URL. A member not named here stays on SQLite in its folder. Members
   * sharing a host process (DemoMember.host) cannot have one: a process has one environment.
   */
  readonly databaseUrls?: Readonly<Record<string, string>>;
  /** `node start --sequencer-lease-ms` for members on PostgreSQL (default: the command's, 5 s). */
  readonly sequencerLeaseMs?: number;
  /** node.json's `consentRelayLimits` for every member (crash tests play many patients from one client). */
  readonly consentRelayLimits?: ConsentRelayLimitsConfig;
}

export interface DevNode {
  readonly name: string;
  /** The process this node runs in, shared with the other members of its host (DemoMember.host). */
  readonly host: string;
  readonly url: string;
  readonly dir: string;
  process: ChildProcess | undefined;
  /** The last line the node printed (shown if it dies during start-up). */
  lastLine?: string;
}

/**
 * A supervisor killed by SIGKILL cannot stop its anvil (a separate binary): the next start finds it
 * through the run file and stops it, so the port is free and the snapshot is the latest.
 */
async function stopLeftoverChain(file: string, log: (line: string) => void): Promise<void> {
  if (!existsSync(file)) return;
  try {
    const run = JSON.parse(readFileSync(file, 'utf8')) as { pid?: number; chain?: { pid?: number } };
    const pid = run.chain?.pid;
    if (pid === undefined || (run.pid !== undefined && isAlive(run.pid))) return;
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('anvil')) return;
    process.kill(pid, 'SIGTERM');
    for (let waited = 0; waited < 10_000 && isAlive(pid); waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    log(`stopped the chain left running by an earlier session (pid ${pid})`);
  } catch {
    // no such process, or not ours: nothing to stop
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The CLI entry this process runs from (compiled .js, or .ts under tsx in tests). */
function cliEntry(): { file: string; execArgv: string[] } {
  // Tests name the CLI bundle they built once per run (test/support/cli-entry.ts, decision 0043).
  const prebuilt = process.env.CARELEDGER_CLI_ENTRY;
  if (prebuilt !== undefined && prebuilt !== '') return { file: prebuilt, execArgv: [] };
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.ts')) return { file: join(here, '..', '..', 'main.ts'), execArgv: ['--import', 'tsx'] };
  return { file: join(here, '..', '..', 'main.js'), execArgv: [] };
}

/**
 * A whole consortium on one machine: the embedded chain and three member nodes, each its own process
 * with its own keys and database, all under one data folder.
 */
export { DEMO_MEMBERS, type DemoMember } from './demo-members.js';

export class DevConsortium {
  readonly chain: EmbeddedChain;
  readonly nodes: DevNode[] = [];
  /** Demo sign-in accounts at the hospital (SMART on FHIR), enrolled on the first start. */
  demoUsers: DemoUsers | undefined;
  /** The demo patient's records as seeded (ids at each member). */
  demoRecords: DemoRecordsResult | undefined;
  /** The packs at the pharmacy, as seeded (DataMatrix strings to try). */
  demoSupply: DemoSupplyResult | undefined;
  demoResearch: DemoResearchResult | undefined;
  deployment: Deployment | undefined;
  private deployerOutbox: Outbox | undefined;
  private closeDeployerDb: (() => void) | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  /** Consecutive failed starts of each node (for the pause before the next). */
  private readonly failedStarts = new Map<string, number>();
  private readonly log: (line: string) => void;

  constructor(private readonly options: DevConsortiumOptions) {
    this.log = options.log ?? ((line) => process.stdout.write(`${line}\n`));
    this.chain = new EmbeddedChain({
      dir: chainDir(options.dataDir),
      port: options.chainPort ?? 8545,
      chainId: CHAIN_ID,
      onLog: (line) => this.log(`[chain] ${line}`),
    });
  }

  async start(): Promise<void> {
    const { dataDir } = this.options;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    await stopLeftoverChain(runFile(dataDir), (line) => this.log(line));
    await this.chain.start();
    writeFileDurably(
      chainInfoFile(dataDir),
      `${JSON.stringify({ rpcUrl: this.chain.rpcUrl, chainId: CHAIN_ID }, null, 2)}\n`,
    );
    const demoMembers = DEMO_MEMBERS.slice(0, this.options.nodePorts?.length ?? DEMO_MEMBERS.length);
    const members = demoMembers.map((member, i) =>
      this.prepareNode(member, this.options.nodePorts?.[i] ?? (this.options.basePort ?? 8701) + i),
    );
    await this.deployIfNeeded(members.filter((_, i) => demoMembers[i]?.founding === true));
    // Every process starts at once; a host's members start one after another inside it.
    await Promise.all([...new Set(this.nodes.map((n) => n.host))].map((host) => this.spawnHost(host)));
    await this.admitByVote(members);
    // The drug supply story (packs commissioned, shipped to the wholesaler and on to the pharmacy) is a
    // few blocks of its own: it runs beside the users' enrolment and the story's records.
    const supply = startSupplySeeding(this.seeding());
    // Awaited below; a failure before then must not become an unhandled rejection.
    supply.catch(() => undefined);
    const hospital = this.nodes[0] as DevNode;
    this.demoUsers = await enrolDemoUsers(
      this.options.dataDir,
      { name: hospital.name, url: hospital.url, adminToken: this.adminToken(hospital) },
      (line) => this.log(line),
    );
    const licences = startCredentialSeeding(this.seeding());
    licences.catch(() => undefined);
    const studies = startResearchSeeding(this.seeding());
    studies.catch(() => undefined);
    if (this.options.seedDemoRecords === true) {
      const patient = this.demoUsers.accounts.find((a) => a.username === 'maria.rivera')?.fhirUser;
      const url = (name: string) => this.nodes.find((n) => n.name === name)?.url as string;
      if (patient !== undefined) {
        const { patientKeystore, patientKeystorePassphrase } = this.demoUsers;
        const patientKey =
          patientKeystore === undefined
            ? undefined
            : privateKeyToAccount(await openPatientKeystore(patientKeystore, patientKeystorePassphrase));
        this.demoRecords = await seedDemoRecords(
          this.options.dataDir,
          { hospital: url('hospital'), lab: url('lab'), pharmacy: url('pharmacy') },
          patient,
          (line) => this.log(line),
          patientKey,
        );
        const insurer = this.nodes.find((n) => n.name === 'insurer');
        // The partners' seeding runs while the care members' first anchors land.
        const partners =
          insurer === undefined
            ? undefined
            : seedDemoPartners(
                this.options.dataDir,
                { hospital: url('hospital'), insurer: this.adminOf('insurer') },
                patient,
                patientKey,
                (line) => this.log(line),
              );
        await Promise.all([this.waitForAnchors(url('hospital'), ['hospital', 'lab', 'pharmacy']), partners]);
      } else await this.waitForAnchors(url('hospital'), ['hospital', 'lab', 'pharmacy']);
    }
    this.demoSupply = await supply;
    this.demoResearch = await studies;
    // Last: the seeders above write as clinician identities that hold no licence.
    if ((await licences) !== undefined) await enforceDemoCredentials(licenceCheckingMembers(this.seeding()));
    await this.chain.snapshot({ force: true });
    this.writeRunFile();
  }

  /**
   * A member anchors its log on the ledger once it has entries (at once, then on a timer); until its
   * first anchor the others refuse what it serves (`not-anchored`), so the demo is ready once every
   * member holding the story's records has one. The partners hold none yet: nothing to wait for.
   */
  private async waitForAnchors(nodeUrl: string, holders: readonly string[]): Promise<void> {
    const { members } = await requestJson<{ members: { name: string; logOrigin: string }[] }>(
      `${nodeUrl}/ledger/members`,
    );
    const origins = new Set(holders.map((name) => loadNodeConfig(this.node(name).dir).logOrigin));
    const deadline = Date.now() + 60_000;
    for (const member of members.filter((m) => origins.has(m.logOrigin))) {
      for (;;) {
        const { anchors } = await requestJson<{ anchors: unknown[] }>(
          `${nodeUrl}/ledger/anchors?origin=${encodeURIComponent(member.logOrigin)}`,
        );
        if (anchors.length > 0) break;
        if (Date.now() > deadline) {
          this.log(`[${member.name}] no checkpoint anchored yet; records it serves are refused until one is`);
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
  }

  private prepareNode(member: DemoMember, port: number): GenesisMember {
    const dir = nodeDir(this.options.dataDir, member.name);
    const paths = nodePaths(dir);
    const publicUrl = `http://127.0.0.1:${port}`;
    const config: NodeConfig = {
      name: member.name,
      organization: member.organization,
      role: member.role,
      host: '127.0.0.1',
      port,
      publicUrl,
      logOrigin: `${member.name}.careledger.test/log`,
      chain: { rpcUrl: this.chain.rpcUrl, chainId: CHAIN_ID },
      deploymentFile: deploymentFile(this.options.dataDir),
      // The demo also accepts the development identity header (curl tours, tests); SMART sign-in works
      // alongside it with the accounts in demo-users.json. A production node leaves this off.
      devIdentityHeader: true,
      ...(this.options.consentRelayLimits === undefined
        ? {}
        : { consentRelayLimits: this.options.consentRelayLimits }),
      // Issue 21: the hospital and the lab check every clinician's licence live (switched on once the
      // demo has seeded; the pharmacy's supply tour identities hold none).
      ...(member.name === 'hospital' || member.name === 'lab'
        ? { practitionerCredentials: { required: false } }
        : {}),
    };
    if (!existsSync(paths.config)) saveNodeConfig(dir, config);
    const saved = loadNodeConfig(dir);
    const account = loadOrCreateLedgerKey(paths.ledgerKey);
    const { verifierKey } = loadOrCreateLogSignerKey(paths.logSignerKey, saved.logOrigin);
    loadOrCreateAdminToken(paths.adminToken);
    // The trading partners share one supply key (packs are keyed hashes of their serials on the
    // ledger); a consortium's operators hand it out of band, the demo copies it into every node.
    const supplyKey = join(dir, 'supply.key');
    if (!existsSync(supplyKey))
      writeFileDurably(supplyKey, readFileSync(this.demoSharedSecret('supply.key')));
    // The members holding records share one research pseudonym secret, so a patient's pseudonym in a
    // study links across them (decision 0020); the research group itself never holds it.
    const researchSecret = join(dir, 'research-pseudonym.secret');
    if (member.role !== 'research' && !existsSync(researchSecret))
      writeFileDurably(researchSecret, readFileSync(this.demoSharedSecret('research-pseudonym.secret')));
    this.nodes.push({
      name: member.name,
      host: member.host ?? member.name,
      url: saved.publicUrl,
      dir,
      process: undefined,
    });
    return {
      account: account.address,
      name: member.organization,
      role: member.role,
      fhirBaseUrl: `${saved.publicUrl}/fhir`,
      logOrigin: saved.logOrigin,
      logVerifierKey: verifierKey,
      encryptionPublicKey: '0x',
    };
  }

  private seeding(): SeedingContext {
    return {
      dataDir: this.options.dataDir,
      chainId: CHAIN_ID,
      seed: this.options.seedDemoRecords === true,
      url: (name) => this.nodes.find((n) => n.name === name)?.url,
      dir: (name) => this.node(name).dir,
      adminOf: (name) => this.adminOf(name),
      log: (line) => this.log(line),
    };
  }

  private adminOf(name: string): { url: string; adminToken: string } {
    const node = this.node(name);
    return { url: node.url, adminToken: this.adminToken(node) };
  }

  /** A secret the demo's members share (32 random bytes, hex), made once in the chain folder. */
  private demoSharedSecret(name: string): string {
    const file = join(chainDir(this.options.dataDir), name);
    if (!existsSync(file)) {
      mkdirSync(chainDir(this.options.dataDir), { recursive: true, mode: 0o700 });
      writeFileDurably(file, `${randomBytes(32).toString('hex')}\n`);
    }
    return file;
  }

  private async deployIfNeeded(members: GenesisMember[]): Promise<void> {
    const dir = chainDir(this.options.dataDir);
    const db = openDatabase(join(dir, 'deployer.db'), outboxMigrations);
    this.closeDeployerDb = () => db.close();
    const account = loadOrCreateLedgerKey(join(dir, 'deployer.key'));
    this.deployerOutbox = new Outbox({
      storage: new SqliteOutboxStorage(db),
      account,
      client: createChainClient(this.chain.rpcUrl, CHAIN_ID),
      chainId: CHAIN_ID,
      onLog: (line) => this.log(`[deployer] ${line}`),
    });
    this.deployerOutbox.start(250);
    await this.deployerOutbox.pump();
    const file = deploymentFile(this.options.dataDir);
    if (existsSync(file)) {
      this.deployment = loadDeployment(file);
      return;
    }
    this.log(
      `deploying the consortium contracts (founding members: ${members.map((m) => m.name).join(', ')}; k = ${DEMO_THRESHOLD})`,
    );
    this.deployment = await deployContracts(
      this.deployerOutbox,
      { members, threshold: DEMO_THRESHOLD },
      CHAIN_ID,
    );
    // The deployment is durable on the chain side before anyone relies on the record.
    await this.chain.snapshot({ force: true });
    saveDeployment(file, this.deployment);
  }

  /** Starts the process of one host: one member, or several sharing it (DemoMember.host). */
  private async spawnHost(host: string): Promise<void> {
    const nodes = this.nodes.filter((n) => n.host === host);
    // A signal during start-up: no node is started after the stop began (it would outlive it).
    if (this.stopping) throw new CareLedgerError('ERR_CONFIG', `stopped before the ${host} node started`);
    const entry = cliEntry();
    const databaseUrl = this.databaseUrlOf(host, nodes);
    const child = spawn(
      process.execPath,
      // One worker per member: the demo stays under 30 s and 2 GiB (decision 0014); `node start`
      // alone defaults to one worker per core.
      [
        ...entry.execArgv,
        entry.file,
        'node',
        'start',
        ...nodes.flatMap((node) => ['--dir', node.dir]),
        '--workers',
        '1',
        ...(databaseUrl !== '' && this.options.sequencerLeaseMs !== undefined
          ? ['--sequencer-lease-ms', String(this.options.sequencerLeaseMs)]
          : []),
      ],
      {
        // The IPC channel is the node's lifeline: if this supervisor dies, even by SIGKILL, the channel
        // closes and the node shuts down instead of lingering on its port.
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        // The database is this member's own, never the supervisor's CARELEDGER_DATABASE_URL: members
        // sharing one database would be one member's stores under several keys.
        env: { ...process.env, CARELEDGER_CHAIN_RPC_URL: '', CARELEDGER_DATABASE_URL: databaseUrl },
        // Its own process group, like the chain's: Ctrl-C reaches only this supervisor, which stops the
        // nodes first (they drain their outboxes), then snapshots and stops the chain.
        detached: true,
      },
    );
    for (const node of nodes) node.process = child;
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        for (const node of nodes) node.lastLine = line;
        this.log(line);
      }
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    child.once('exit', (code, signal) => {
      for (const node of nodes) if (node.process === child) node.process = undefined;
      if (this.stopping) return;
      this.log(`[${host}] exited (code ${code}, signal ${signal})`);
      if (this.options.superviseNodes ?? true) {
        // Restarted as often as it dies, after a pause that grows while starts keep failing (0.5 s,
        // 1 s, 2 s, … 10 s): a start that fails is retried, never left for good.
        const failures = this.failedStarts.get(host) ?? 0;
        const pauseMs = Math.min(500 * 2 ** failures, 10_000);
        setTimeout(() => {
          if (!this.stopping)
            void this.spawnHost(host).catch((error: unknown) => {
              this.failedStarts.set(host, (this.failedStarts.get(host) ?? 0) + 1);
              this.log(`[${host}] restart failed: ${(error as Error).message}`);
            });
        }, pauseMs);
      }
    });
    try {
      // The members of a host start side by side in it: each gets the first's minute again.
      const deadline = Date.now() + 60_000 * nodes.length;
      for (const node of nodes) await this.waitForHealth(node, child, deadline);
    } catch (error) {
      // A node that does not come up in time is stopped, so its exit restarts it (or ends the demo's
      // start-up); it is never left half started.
      await terminate(child, 0);
      throw error;
    }
    this.failedStarts.delete(host);
    this.writeRunFile();
  }

  /** The PostgreSQL URL of a host's one member, or '' (SQLite). */
  private databaseUrlOf(host: string, nodes: readonly DevNode[]): string {
    const urls = nodes.map((n) => this.options.databaseUrls?.[n.name]).filter((u) => u !== undefined);
    if (urls.length === 0) return '';
    if (nodes.length > 1)
      throw new CareLedgerError(
        'ERR_CONFIG',
        `the ${host} process hosts ${nodes.length} members; a PostgreSQL database is for a member with a process of its own`,
      );
    return urls[0] as string;
  }

  private async waitForHealth(node: DevNode, child: ChildProcess, deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      if (this.stopping)
        throw new CareLedgerError('ERR_CONFIG', `stopped while the ${node.name} node started`);
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new CareLedgerError(
          'ERR_CONFIG',
          `the ${node.name} node exited during start-up${node.lastLine === undefined ? '' : `: ${node.lastLine}`}`,
        );
      }
      try {
        await requestJson(`${node.url}/health`, { timeoutMs: 1_000 });
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new CareLedgerError(
      'ERR_CONFIG',
      `the ${node.name} node did not answer within 60 s per member of its process (${node.host})`,
    );
  }

  /**
   * The members not admitted at genesis (the lab and the pharmacy) join by k-of-n vote of the
   * members at the time (see ConsortiumRegistry); so does a partner missing from an older deployment.
   */
  private async admitByVote(members: GenesisMember[]): Promise<void> {
    const founder = this.nodes[0];
    if (founder === undefined) return;
    const voters: DevNode[] = [];
    const joining: { node: DevNode; candidate: GenesisMember }[] = [];
    for (const [i, node] of this.nodes.entries()) {
      const candidate = members[i] as GenesisMember;
      if (node === founder || (await this.isMember(founder, candidate))) voters.push(node);
      else joining.push({ node, candidate });
    }
    // With enough members already in, each admission gets its own proposer and voter and they all
    // run at once (one block or two in all); otherwise one after another, each new member voting next.
    const pairs = voters.length >= DEMO_THRESHOLD * joining.length;
    const admit = async ({ node, candidate }: (typeof joining)[number], j: number) => {
      const [proposer, ...others] = pairs
        ? voters.slice(j * DEMO_THRESHOLD, (j + 1) * DEMO_THRESHOLD)
        : voters.slice();
      const proposal = await requestJson<{ proposalId: string | null; executed: boolean }>(
        `${(proposer as DevNode).url}/admin/members/proposals`,
        { body: { ...candidate }, token: this.adminToken(proposer as DevNode) },
      );
      this.log(
        `[${(proposer as DevNode).name}] proposed admitting ${candidate.name} (proposal ${proposal.proposalId})`,
      );
      // Each vote is mined before the request returns; k - 1 more votes than the proposer's execute it.
      if (!proposal.executed) {
        for (const voter of others.slice(0, DEMO_THRESHOLD - 1)) {
          await requestJson(`${voter.url}/admin/members/proposals/${proposal.proposalId}/votes`, {
            method: 'POST',
            token: this.adminToken(voter),
          });
          this.log(`[${voter.name}] voted for ${candidate.name}`);
        }
      }
      if (!pairs) voters.push(node);
    };
    if (pairs) await Promise.all(joining.map(admit));
    else for (const [j, joiner] of joining.entries()) await admit(joiner, j);
    await this.waitUntilAllIndexed(members.length);
  }

  private adminToken(node: DevNode): string {
    return loadOrCreateAdminToken(nodePaths(node.dir).adminToken);
  }

  private async isMember(node: DevNode, candidate: GenesisMember): Promise<boolean> {
    const { members } = await requestJson<{ members: { address: string; status: string }[] }>(
      `${node.url}/ledger/members`,
    );
    return members.some((m) => m.address === candidate.account && m.status === 'active');
  }

  private async waitUntilAllIndexed(count: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    for (const node of this.nodes) {
      for (;;) {
        const { members } = await requestJson<{ members: { status: string }[] }>(
          `${node.url}/ledger/members`,
        );
        if (members.filter((m) => m.status === 'active').length >= count) break;
        if (Date.now() > deadline)
          throw new CareLedgerError('ERR_CHAIN_UNAVAILABLE', `${node.name} did not index the admissions`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  private writeRunFile(): void {
    const file = runFile(this.options.dataDir);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileDurably(
      file,
      `${JSON.stringify(
        {
          pid: process.pid,
          chain: { rpcUrl: this.chain.rpcUrl, pid: this.chain.pid },
          nodes: this.nodes.map((n) => ({ name: n.name, url: n.url, pid: n.process?.pid })),
        },
        null,
        2,
      )}\n`,
    );
  }

  node(name: string): DevNode {
    const node = this.nodes.find((n) => n.name === name);
    if (node === undefined) throw new CareLedgerError('ERR_NOT_FOUND', `no node named ${name}`);
    return node;
  }

  /** SIGKILL a node process (crash tests); the supervisor restarts it. */
  killNode(name: string): void {
    this.node(name).process?.kill('SIGKILL');
  }

  async waitForNode(name: string, timeoutMs = 60_000): Promise<void> {
    const node = this.node(name);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (node.process !== undefined) {
        try {
          await requestJson(`${node.url}/health`, { timeoutMs: 1_000 });
          return;
        } catch {
          // not up yet
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new CareLedgerError(
      'ERR_CONFIG',
      `the ${name} node did not come back within ${timeoutMs / 1000} s` +
        `${node.process === undefined ? ' (no process)' : ` (pid ${node.process.pid})`}` +
        `${node.lastLine === undefined ? '' : `; its last line: ${node.lastLine}`}`,
    );
  }

  /**
   * The ordered stop (Ctrl-C, SIGTERM): the nodes stop taking requests and drain their outboxes, the
   * deployer's outbox drains, then the chain takes its final snapshot and stops. Every block a node
   * saw is in that snapshot, so nothing rolls back on the next start.
   */
  stop(): Promise<void> {
    this.stopping = true;
    this.stopped ??= this.stopInOrder();
    return this.stopped;
  }

  private async stopInOrder(): Promise<void> {
    await Promise.all(
      this.nodes.map((node) =>
        node.process === undefined ? undefined : terminate(node.process, NODE_STOP_GRACE_MS),
      ),
    );
    if (this.deployerOutbox !== undefined) {
      const left = await this.deployerOutbox.drain(OUTBOX_DRAIN_MS);
      if (left > 0) this.log(`[deployer] ${left} transaction(s) not yet mined; re-sent on the next start`);
      await this.deployerOutbox.stop();
    }
    this.closeDeployerDb?.();
    this.closeDeployerDb = undefined;
    await this.chain.stop();
  }
}
