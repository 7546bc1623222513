import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { createChainClient } from '../chain/index.js';
import { loadDeployment } from '../ledger/index.js';
import { loadNodeConfig, type NodeConfig, nodePaths } from '../node/node-config.js';
import type { DoctorCheck } from './doctor-check.js';
import { diagnosePostgres, findDatabaseUrl } from './node-doctor-postgres.js';
import { findDeploymentProblems } from './verify-deployment.js';

export type { CheckStatus, DoctorCheck } from './doctor-check.js';

export interface DoctorOptions {
  readonly now?: () => number;
  /** Largest tolerated difference between this clock and the latest block's time (default 30 s). */
  readonly maxClockSkewSeconds?: number;
  /** TLS certificate files to check (node start --tls-cert), besides node.json's. */
  readonly tlsCertFile?: string;
  /** The PostgreSQL URL; default CARELEDGER_DATABASE_URL, then the folder's careledger.env. */
  readonly databaseUrl?: string;
}

/** The block time a QBFT chain keeps ahead of; a clock behind the chain's by more is wrong, not slow. */
const FUTURE_BLOCK_TOLERANCE_S = 5;
const CERT_WARN_DAYS = 21;

function ownerOnly(path: string): boolean {
  return (statSync(path).mode & 0o077) === 0;
}

function checkFileModes(dir: string, config: NodeConfig | undefined): DoctorCheck[] {
  const paths = nodePaths(dir);
  const secrets = [
    paths.ledgerKey,
    paths.logSignerKey,
    paths.adminToken,
    paths.tokenSigningKey,
    paths.database,
    `${paths.database}-wal`,
    `${paths.database}-shm`,
    `${dir}/careledger.env`,
    ...(process.env.CARELEDGER_CHAIN_KEY_FILE ? [process.env.CARELEDGER_CHAIN_KEY_FILE] : []),
    ...(config?.tls?.keyFile === undefined ? [] : [config.tls.keyFile]),
  ];
  const loose = secrets.filter((p) => existsSync(p) && !ownerOnly(p));
  const checks: DoctorCheck[] = [];
  if (existsSync(dir) && (statSync(dir).mode & 0o077) !== 0)
    checks.push({
      check: 'file-modes',
      status: 'fail',
      message: `${dir} is open to other users`,
      fix: `chmod 700 ${dir}`,
    });
  checks.push(
    loose.length === 0
      ? { check: 'file-modes', status: 'ok', message: 'keys, tokens and the database are owner-only (0600)' }
      : {
          check: 'file-modes',
          status: 'fail',
          message: `readable by other users: ${loose.join(', ')}`,
          fix: `chmod 600 ${loose.join(' ')} (the node also does this at start)`,
        },
  );
  return checks;
}

function checkDatabase(dir: string): DoctorCheck {
  const path = nodePaths(dir).database;
  if (!existsSync(path))
    return {
      check: 'database',
      status: 'warn',
      message: 'no database yet',
      fix: 'the first `careledger node start` creates it',
    };
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
    const quick = db.pragma('quick_check', { simple: true });
    if (quick !== 'ok')
      return {
        check: 'database',
        status: 'fail',
        message: `the database fails quick_check: ${String(quick)}`,
        fix: 'restore from backup',
      };
    const table = db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
      .get();
    if (table === undefined)
      return {
        check: 'database',
        status: 'fail',
        message: `${path} is not a node database (no schema_migrations)`,
        fix: 'check the node folder',
      };
    const { count, last } = db
      .prepare('SELECT count(*) AS count, max(applied_at) AS last FROM schema_migrations')
      .get() as { count: number; last: number | null };
    return {
      check: 'database',
      status: 'ok',
      message: `SQLite passes quick_check; ${count} schema migrations applied${last === null ? '' : `, the last on ${new Date(last).toISOString()}`} (the node applies new ones at start)`,
    };
  } catch (error) {
    return {
      check: 'database',
      status: 'fail',
      message: `cannot read the database: ${(error as Error).message}`,
      fix: 'check the file and its owner',
    };
  } finally {
    db?.close();
  }
}

function checkCertificate(file: string, nowMs: number): DoctorCheck {
  try {
    const cert = new X509Certificate(readFileSync(file));
    const expires = Date.parse(cert.validTo);
    const days = Math.floor((expires - nowMs) / 86_400_000);
    if (expires <= nowMs)
      return {
        check: 'tls',
        status: 'fail',
        message: `the TLS certificate ${file} expired on ${cert.validTo}`,
        fix: 'renew it and restart the node',
      };
    if (Date.parse(cert.validFrom) > nowMs)
      return {
        check: 'tls',
        status: 'fail',
        message: `the TLS certificate ${file} is not valid before ${cert.validFrom}`,
        fix: 'check the clock and the certificate',
      };
    return days < CERT_WARN_DAYS
      ? {
          check: 'tls',
          status: 'warn',
          message: `the TLS certificate ${file} expires in ${days} days`,
          fix: 'renew it soon',
        }
      : {
          check: 'tls',
          status: 'ok',
          message: `the TLS certificate expires in ${days} days (${cert.validTo})`,
        };
  } catch (error) {
    return {
      check: 'tls',
      status: 'fail',
      message: `cannot read the TLS certificate ${file}: ${(error as Error).message}`,
      fix: 'give a PEM certificate',
    };
  }
}

async function checkChain(config: NodeConfig, nowMs: number, maxSkew: number): Promise<DoctorCheck[]> {
  let deployment: ReturnType<typeof loadDeployment>;
  try {
    deployment = loadDeployment(config.deploymentFile);
  } catch (error) {
    return [
      {
        check: 'deployment',
        status: 'fail',
        message: (error as Error).message,
        fix: 'copy the deployment record from the member that deployed',
      },
    ];
  }
  const client = createChainClient(config.chain.rpcUrl, config.chain.chainId, { timeoutMs: 5_000 });
  let block: { timestamp: bigint; number: bigint };
  try {
    block = await client.getBlock({ blockTag: 'latest' });
  } catch {
    return [
      {
        check: 'chain',
        status: 'fail',
        message: `the chain at ${config.chain.rpcUrl} does not answer`,
        fix: 'start the organization’s Besu node, or fix chain.rpcUrl / CARELEDGER_CHAIN_RPC_URL',
      },
    ];
  }
  const checks: DoctorCheck[] = [
    { check: 'chain', status: 'ok', message: `the chain answers (block ${block.number})` },
  ];
  const problems = await findDeploymentProblems(client, deployment, config.chain.chainId);
  checks.push(
    ...(problems.length === 0
      ? [
          {
            check: 'contracts',
            status: 'ok' as const,
            message: `chain id ${deployment.chainId}; the contracts match the deployment record${deployment.codeHashes === undefined ? ' (present; the record has no code hashes)' : ''}`,
          },
        ]
      : problems.map((p) => ({
          check: 'contracts',
          status: 'fail' as const,
          message: p.message,
          fix: p.fix,
        }))),
  );
  const skew = Math.round(nowMs / 1000 - Number(block.timestamp));
  checks.push(
    skew < -FUTURE_BLOCK_TOLERANCE_S
      ? {
          check: 'clock',
          status: 'fail',
          message: `this clock is ${-skew} s behind the latest block`,
          fix: 'synchronise the clock (chrony/NTP): consent time windows and token expiry depend on it',
        }
      : skew > maxSkew
        ? {
            check: 'clock',
            status: 'fail',
            message: `the latest block is ${skew} s older than this clock`,
            fix: 'synchronise the clock, or check that the validators are producing blocks (a halted chain delays every consent)',
          }
        : { check: 'clock', status: 'ok', message: `clock within ${Math.abs(skew)} s of the latest block` },
  );
  return checks;
}

/** Checks a node folder without starting it; never changes anything. */
export async function diagnoseNode(dir: string, options: DoctorOptions = {}): Promise<DoctorCheck[]> {
  const nowMs = (options.now ?? Date.now)();
  let config: NodeConfig | undefined;
  const checks: DoctorCheck[] = [];
  try {
    config = loadNodeConfig(dir);
    checks.push({
      check: 'config',
      status: 'ok',
      message: `node.json: ${config.name} (${config.organization})`,
    });
  } catch (error) {
    checks.push({
      check: 'config',
      status: 'fail',
      message: (error as Error).message,
      fix: 'run `careledger node init`',
    });
  }
  checks.push(...checkFileModes(dir, config), checkDatabase(dir));
  // On PostgreSQL (decision 0015): reachable, schema version, durability settings, the role's rights.
  const databaseUrl = options.databaseUrl ?? findDatabaseUrl(dir);
  if (databaseUrl !== undefined) checks.push(...(await diagnosePostgres(databaseUrl, dir)));
  const certFile = options.tlsCertFile ?? config?.tls?.certFile;
  if (certFile !== undefined) checks.push(checkCertificate(certFile, nowMs));
  if (config !== undefined)
    checks.push(...(await checkChain(config, nowMs, options.maxClockSkewSeconds ?? 30)));
  return checks;
}
