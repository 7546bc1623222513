import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import Database from 'better-sqlite3';
import { Command } from 'commander';
import { Hono } from 'hono';
import { type PublicClient, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChainClient, EmbeddedChain } from '../../src/chain/index.js';
import {
  type AuditLogOptions,
  auditLog,
  createChainLogLedger,
  LOG_AUDIT_CHECKS,
} from '../../src/cli/commands/log-audit.js';
import { registerLogCommands } from '../../src/cli/commands/log-commands.js';
import { chainInfoFile, deploymentFile } from '../../src/cli/data-dir.js';
import { exitCodeFor } from '../../src/cli/exit-codes.js';
import { createProgressBar, formatProgressLine } from '../../src/cli/progress-bar.js';
import { CareLedgerError } from '../../src/errors/index.js';
import { createLogRoutes } from '../../src/http/routes/log-routes.js';
import { ConsortiumLedger } from '../../src/ledger/consortium-ledger.js';
import { type Deployment, deployContracts, saveDeployment } from '../../src/ledger/deployment.js';
import { Outbox } from '../../src/ledger/outbox.js';
import { createSignerKey, hashLeaf } from '../../src/log/index.js';
import { MemoryLogStorage } from '../../src/log/memory-log-storage.js';
import { TransparencyLog } from '../../src/log/transparency-log.js';
import { openDatabase, type SqliteDatabase } from '../../src/storage/sqlite/open-database.js';
import { logMigrations, SqliteLogStorage } from '../../src/storage/sqlite/sqlite-log-storage.js';
import { outboxMigrations, SqliteOutboxStorage } from '../../src/storage/sqlite/sqlite-outbox-storage.js';
import { findFreePort } from '../support/free-port.js';

const ORIGIN = 'hospital.example/log';
const SIZE = 1000;
const logKeys = createSignerKey(ORIGIN);
const entry = (i: number): Uint8Array => new TextEncoder().encode(`audit-event-${i}`);

const dir = mkdtempSync(join(tmpdir(), 'careledger-log-audit-'));
const dataDir = join(dir, 'data');
const logDbPath = join(dir, 'log.db');
const closers: (() => Promise<void> | void)[] = [];
let chain: EmbeddedChain;
let client: PublicClient;
let deployment: Deployment;
let nodeUrl: string;

/** Serves `log` as a member node does: the tlog-tiles routes under /log. */
async function serveLog(log: TransparencyLog): Promise<string> {
  const app = new Hono();
  app.route('/log', createLogRoutes(log));
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A log in memory with the hospital's key: another history, as a dishonest node would serve it. */
async function memoryLog(entries: Uint8Array[], signerKey = logKeys.signerKey, origin = ORIGIN) {
  const log = await TransparencyLog.open({ storage: new MemoryLogStorage(), signerKey, origin });
  await Promise.all(entries.map((e) => log.append(e)));
  await log.checkpoint();
  return log;
}

function audit(url: string, extra: Partial<AuditLogOptions> = {}) {
  return auditLog({ nodeUrl: url, ledger: createChainLogLedger(client, deployment), ...extra });
}

beforeAll(async () => {
  chain = new EmbeddedChain({
    dir: join(dir, 'chain'),
    port: await findFreePort(),
    snapshotIntervalMs: 60_000,
  });
  await chain.start();
  closers.push(() => chain.stop());
  client = createChainClient(chain.rpcUrl, 31337);

  const outboxDb = openDatabase(join(dir, 'outbox.db'), outboxMigrations);
  const account = privateKeyToAccount(generatePrivateKey());
  const outbox = new Outbox({ storage: new SqliteOutboxStorage(outboxDb), account, client, chainId: 31337 });
  outbox.start(100);
  closers.push(async () => {
    await outbox.stop();
    outboxDb.close();
  });
  deployment = await deployContracts(
    outbox,
    {
      members: [
        {
          account: account.address,
          name: 'General Hospital',
          role: 'provider',
          fhirBaseUrl: 'http://127.0.0.1:1/fhir',
          logOrigin: ORIGIN,
          logVerifierKey: logKeys.verifierKey,
          encryptionPublicKey: '0x01',
        },
      ],
      threshold: 1,
    },
    31337,
  );
  mkdirSync(join(dataDir, 'chain'), { recursive: true });
  saveDeployment(deploymentFile(dataDir), deployment);
  writeFileSync(chainInfoFile(dataDir), JSON.stringify({ rpcUrl: chain.rpcUrl, chainId: 31337 }));

  const logDb: SqliteDatabase = openDatabase(logDbPath, logMigrations);
  const log = await TransparencyLog.open({
    storage: new SqliteLogStorage(logDb),
    signerKey: logKeys.signerKey,
  });
  closers.push(async () => {
    await log.stop();
    logDb.close();
  });
  await Promise.all(Array.from({ length: SIZE }, (_, i) => log.append(entry(i))));
  const checkpoint = await log.checkpoint();
  const anchored = await new ConsortiumLedger(deployment, outbox).anchorCheckpoint(
    ORIGIN,
    BigInt(checkpoint.size),
    toHex(checkpoint.rootHash),
    `0x${createHash('sha256').update(checkpoint.note, 'utf8').digest('hex')}`,
  );
  expect((await outbox.waitForConfirmation(anchored.id, 60_000)).receiptStatus).toBe('success');
  nodeUrl = await serveLog(log);
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
  rmSync(dir, { recursive: true, force: true });
});

function captured(props: { isTTY?: boolean } = {}) {
  let out = '';
  return {
    ...props,
    write: (text: string) => {
      out += text;
      return true;
    },
    text: () => out,
  };
}

async function cli(args: string[], stderr = captured()) {
  const stdout = captured();
  const program = new Command().option('--data-dir <dir>').exitOverride();
  registerLogCommands(program, { stdout, stderr });
  let error: unknown;
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (e) {
    error = e;
  }
  return { stdout: stdout.text(), stderr: stderr.text(), error };
}

describe('log audit against a real chain and a node serving its log over HTTP', () => {
  it('passes for an honest node: every entry, tile and anchor checked', async () => {
    const report = await audit(nodeUrl);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({
      ok: true,
      origin: ORIGIN,
      size: SIZE,
      owner: { name: 'General Hospital' },
      entriesChecked: SIZE,
      // 3 full level-0 tiles + 1 partial, the partial level-1 tile, and 4 entry bundles.
      tilesFetched: 9,
      anchorsChecked: 1,
    });
  });

  it('runs as `careledger log audit` from the data dir, with progress lines when stderr is not a TTY', async () => {
    const stderr = captured({ isTTY: false });
    const { stdout, error } = await cli(
      ['--data-dir', dataDir, 'log', 'audit', nodeUrl, '--concurrency', '2'],
      stderr,
    );
    expect(error).toBeUndefined();
    expect(stdout).toContain(
      'OK: the served log matches its signed checkpoint and every anchor on the ledger',
    );
    expect(stdout).toContain('1,000 entries checked');
    const lines = stderr.text().trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^tiles 100% 9\/9 /);
    expect(stderr.text()).not.toContain('\r');
  });

  it('fails naming the check when a node serves a different history than it anchored', async () => {
    const forked = await memoryLog(Array.from({ length: SIZE }, (_, i) => entry(i === 500 ? 1_000_000 : i)));
    const report = await audit(await serveLog(forked));
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      { check: 'anchor-root', size: SIZE, message: `equivocation / rewritten history at size ${SIZE}` },
    ]);
  });

  it('fails on a rollback: the node serves a smaller tree than it anchored', async () => {
    const shorter = await memoryLog(Array.from({ length: 600 }, (_, i) => entry(i)));
    const { stdout, error } = await cli([
      'log',
      'audit',
      await serveLog(shorter),
      '--rpc-url',
      chain.rpcUrl,
      '--deployment',
      deploymentFile(dataDir),
      '--json',
      '--quiet',
    ]);
    expect(error).toBeInstanceOf(CareLedgerError);
    expect((error as CareLedgerError).message).toBe(
      'audit failed at check anchor-rollback: rollback: the node serves a smaller tree than it anchored (anchored 1000, served 600)',
    );
    expect(exitCodeFor(error)).toBe(65);
    const report = JSON.parse(stdout) as {
      ok: boolean;
      problems: { check: string }[];
      entriesChecked: number;
    };
    expect(report.ok).toBe(false);
    expect(report.entriesChecked).toBe(600);
    expect(report.problems.map((p) => p.check)).toEqual(['anchor-rollback']);
  });

  it('fails when the checkpoint is not signed by the key on the ledger, or the origin is no member’s', async () => {
    const impostor = await memoryLog([entry(0)], createSignerKey(ORIGIN).signerKey);
    expect((await audit(await serveLog(impostor))).problems.map((p) => p.check)).toEqual([
      'checkpoint-signature',
    ]);
    const stranger = await memoryLog(
      [entry(0)],
      createSignerKey('stranger.example/log').signerKey,
      'stranger.example/log',
    );
    expect((await audit(await serveLog(stranger))).problems.map((p) => p.check)).toEqual(['log-owner']);
  });

  it('catches rows changed in the node’s database behind the log’s back', async () => {
    // An attacker with write access to the file drops the append-only trigger and edits history.
    const attacker = new Database(logDbPath);
    try {
      attacker.exec('DROP TRIGGER log_leaves_no_update');
      const original = attacker.prepare('SELECT entry, leaf_hash FROM log_leaves WHERE idx = ?');
      const update = attacker.prepare('UPDATE log_leaves SET entry = ?, leaf_hash = ? WHERE idx = ?');
      const tamper = (index: number, withLeafHash: boolean) => {
        const row = original.get(index) as { entry: Buffer; leaf_hash: Buffer };
        const forged = new TextEncoder().encode(`forged-${index}`);
        update.run(forged, withLeafHash ? hashLeaf(forged) : row.leaf_hash, index);
        return () => update.run(row.entry, row.leaf_hash, index);
      };
      const checks = async () => (await audit(nodeUrl)).problems.map((p) => p.check);

      // Only the entry: its bundle no longer hashes to the level-0 tile.
      let restore = tamper(10, false);
      const report = await audit(nodeUrl);
      expect(report.problems).toEqual([
        {
          check: 'tiles',
          tile: 'tile/entries/000',
          message: 'entry bundle tile/entries/000 does not hash to its level-0 tile',
        },
      ]);
      expect(report.entriesChecked).toBe(SIZE - 256);
      restore();
      expect(await checks()).toEqual([]);

      // Entry and leaf hash, in the partial tile: the root no longer matches checkpoint and anchor.
      restore = tamper(900, true);
      expect(await checks()).toEqual(['root', 'anchor-root']);
      const { error } = await cli(['--data-dir', dataDir, 'log', 'audit', nodeUrl, '--quiet']);
      expect((error as CareLedgerError).message).toBe(
        'audit failed at check root: the tiles served do not hash to the checkpoint root at size 1000',
      );
      restore();

      // Entry and leaf hash in a full tile: the level-1 tile above it betrays the change too.
      restore = tamper(10, true);
      expect(await checks()).toEqual(['tiles', 'root', 'anchor-root']);
      restore();
      expect(await checks()).toEqual([]);
    } finally {
      attacker.close();
    }
  });

  it('prints the node’s checkpoint', async () => {
    const { stdout, error } = await cli(['log', 'checkpoint', nodeUrl, '--json']);
    expect(error).toBeUndefined();
    expect(JSON.parse(stdout)).toMatchObject({ origin: ORIGIN, size: SIZE, signatures: [ORIGIN] });
    const unreachable = await cli(['log', 'checkpoint', `http://127.0.0.1:${await findFreePort()}`]);
    expect(unreachable.error).toMatchObject({ code: 'ERR_LOG_UNAVAILABLE' });
    expect((await cli(['log', 'audit', 'not a url', '--data-dir', dataDir])).error).toMatchObject({
      code: 'ERR_INVALID_INPUT',
    });
  });

  it('lists its checks in a fixed order', () => {
    expect(LOG_AUDIT_CHECKS[0]).toBe('checkpoint');
    expect(LOG_AUDIT_CHECKS.at(-1)).toBe('anchor-root');
  });
});

describe('progress bar', () => {
  let now = 0;
  const clock = { now: () => now };

  it('formats label, gauge, percent, counts, rate and ETA', () => {
    expect(formatProgressLine('tiles', 4_200, 10_000, 3_500, true)).toBe(
      'tiles [########............] 42% 4,200/10,000 1.2k/s ETA 5s',
    );
    expect(formatProgressLine('tiles', 0, 10, 0, false)).toBe('tiles 0% 0/10 -/s ETA --');
  });

  it('redraws one line on a TTY at most every 100 ms', () => {
    now = 0;
    const out = captured({ isTTY: true });
    const bar = createProgressBar({ label: 'x', total: 1000, stream: out, clock });
    for (let i = 0; i < 1000; i++) {
      now += 1;
      bar.tick();
    }
    bar.finish();
    const draws = out.text().split('\r').length - 1;
    expect(draws).toBeGreaterThanOrEqual(10);
    expect(draws).toBeLessThanOrEqual(12);
    expect(out.text().endsWith('x [####################] 100% 1,000/1,000 1.0k/s ETA 0s\n')).toBe(true);
  });

  it('prints a plain line every 10 % or every 5 s elsewhere, and nothing when quiet', () => {
    now = 0;
    const out = captured({ isTTY: false });
    const bar = createProgressBar({ label: 'x', total: 100, stream: out, clock });
    for (let i = 0; i < 5; i++) {
      now += 6_000;
      bar.tick();
    }
    for (let i = 0; i < 95; i++) bar.tick();
    bar.finish();
    const lines = out.text().trimEnd().split('\n');
    // The first tick, one line per 5 s while slow, then one per 10 % step.
    expect(lines.map((l) => l.split(' ')[1])).toEqual([
      '1%',
      '2%',
      '3%',
      '4%',
      '5%',
      '10%',
      '20%',
      '30%',
      '40%',
      '50%',
      '60%',
      '70%',
      '80%',
      '90%',
      '100%',
    ]);
    const quiet = captured();
    const silent = createProgressBar({ label: 'x', total: 10, stream: quiet, quiet: true, clock });
    silent.tick(10);
    silent.finish();
    expect(quiet.text()).toBe('');
  });
});
