import {
  type Address,
  getAbiItem,
  type Hex,
  hexToBytes,
  keccak256,
  type PublicClient,
  toBytes,
  zeroAddress,
} from 'viem';
import { createChainClient } from '../../chain/index.js';
import { CareLedgerError, type ErrorCode, isCareLedgerError } from '../../errors/index.js';
import { checkpointAnchorAbi, consortiumRegistryAbi } from '../../ledger/contracts.generated.js';
import { type Deployment, loadDeployment } from '../../ledger/deployment.js';
import {
  type Checkpoint,
  CompactRange,
  formatTilePath,
  HASH_SIZE,
  parseCheckpoint,
  parseSignedNote,
  parseTile,
  parseVerifierKey,
  rootAtFromTiles,
  rootFromTiles,
  type SignedNote,
  TILE_WIDTH,
  type TileCoordinate,
  type TileSource,
  tilesForSize,
  verifyEntryBundle,
  verifyNote,
} from '../../log/index.js';
import { deploymentFile, resolveRpcUrl } from '../data-dir.js';
import { createProgressBar, type ProgressBar, type ProgressStream } from '../progress-bar.js';
import type { CommandOutput } from './proof-verify.js';

/**
 * `careledger log audit`: checks a member node's transparency log against what the node signed and
 * what it anchored on the ledger. The node is not trusted for anything: its key comes from the ledger
 * (ConsortiumRegistry), every tile it serves is recomputed from the leaf hashes, every entry bundle
 * is re-hashed, and every root is recomputed (RFC 9162 §2.1.1, c2sp.org/tlog-tiles).
 */

/** The checks, in the order they run; a failed audit names the first one that failed. */
export const LOG_AUDIT_CHECKS = [
  'checkpoint',
  'log-owner',
  'checkpoint-signature',
  'tiles',
  'root',
  'anchor-order',
  'anchor-conflict',
  'anchor-rollback',
  'anchor-root',
] as const;
export type LogAuditCheck = (typeof LOG_AUDIT_CHECKS)[number];

const CHECK_ERROR_CODES: Record<LogAuditCheck, ErrorCode> = {
  checkpoint: 'ERR_LOG_CHECKPOINT_INVALID',
  'log-owner': 'ERR_NOT_MEMBER',
  'checkpoint-signature': 'ERR_LOG_NOTE_INVALID',
  tiles: 'ERR_LOG_TILE_INVALID',
  root: 'ERR_LOG_EQUIVOCATION',
  'anchor-order': 'ERR_LOG_EQUIVOCATION',
  'anchor-conflict': 'ERR_LOG_EQUIVOCATION',
  'anchor-rollback': 'ERR_LOG_EQUIVOCATION',
  'anchor-root': 'ERR_LOG_EQUIVOCATION',
};

export interface LogAuditProblem {
  readonly check: LogAuditCheck;
  readonly message: string;
  /** The tree size concerned (anchor checks). */
  readonly size?: number;
  /** The tile path concerned (tile checks). */
  readonly tile?: string;
}

/** One CheckpointAnchored event. */
export interface AnchoredCheckpoint {
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
  readonly noteHash: Hex;
  readonly member: Address;
  readonly anchoredAt: number;
  readonly blockNumber: number;
}

export interface LogOwner {
  readonly address: Address;
  readonly name: string;
  readonly logVerifierKey: string;
}

/** What the audit reads from the ledger; `createChainLogLedger` reads it from the contracts. */
export interface LogLedger {
  /** The member that owns `origin` (ConsortiumRegistry.memberOfOrigin), or undefined. */
  ownerOf(origin: string): Promise<LogOwner | undefined>;
  /** Every CheckpointAnchored event of `origin`, in chain order. */
  anchorsOf(origin: string): Promise<AnchoredCheckpoint[]>;
}

const chainError = (rpcWhat: string, cause: unknown): CareLedgerError =>
  new CareLedgerError('ERR_CHAIN_UNAVAILABLE', `cannot read ${rpcWhat} from the chain`, { cause });

/** Reads log owners from ConsortiumRegistry and anchors from CheckpointAnchor's event log. */
export function createChainLogLedger(
  client: PublicClient,
  deployment: Deployment,
  options: { blockRange?: number } = {},
): LogLedger {
  const registry = { address: deployment.contracts.consortiumRegistry, abi: consortiumRegistryAbi } as const;
  const event = getAbiItem({ abi: checkpointAnchorAbi, name: 'CheckpointAnchored' });
  const blockRange = BigInt(options.blockRange ?? 50_000);
  return {
    async ownerOf(origin) {
      try {
        const address = await client.readContract({
          ...registry,
          functionName: 'memberOfOrigin',
          args: [origin],
        });
        if (address === zeroAddress) return undefined;
        const member = await client.readContract({ ...registry, functionName: 'getMember', args: [address] });
        return { address, name: member.name, logVerifierKey: member.logVerifierKey };
      } catch (cause) {
        throw chainError('the log owner', cause);
      }
    },
    async anchorsOf(origin) {
      const anchors: AnchoredCheckpoint[] = [];
      try {
        const head = await client.getBlockNumber({ cacheTime: 0 });
        for (let from = BigInt(deployment.deployBlock); from <= head; from += blockRange) {
          const to = from + blockRange - 1n < head ? from + blockRange - 1n : head;
          const logs = await client.getLogs({
            address: deployment.contracts.checkpointAnchor,
            event,
            // The topic of an indexed string is its keccak256 (Solidity ABI spec, "Events").
            args: { originHash: keccak256(toBytes(origin)) },
            fromBlock: from,
            toBlock: to,
            strict: true,
          });
          for (const log of logs) {
            if (log.args.origin !== origin) continue;
            anchors.push({
              treeSize: Number(log.args.treeSize),
              rootHash: hexToBytes(log.args.rootHash),
              noteHash: log.args.noteHash,
              member: log.args.member,
              anchoredAt: Number(log.args.anchoredAt),
              blockNumber: Number(log.blockNumber),
            });
          }
        }
      } catch (cause) {
        throw chainError('the anchored checkpoints', cause);
      }
      return anchors;
    },
  };
}

export interface AuditLogOptions {
  /** The member node's base URL; its log is served under `<nodeUrl>/log/`. */
  readonly nodeUrl: string;
  readonly ledger: LogLedger;
  /** Tile requests in flight at once (default 8). */
  readonly concurrency?: number;
  /** Progress of the tile fetches; default: none. */
  readonly progress?: (total: number) => ProgressBar;
  /** Milliseconds, for the elapsed time; injected for tests. */
  readonly clock?: { now(): number };
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

export interface LogAuditReport {
  readonly ok: boolean;
  readonly nodeUrl: string;
  readonly origin?: string;
  readonly size?: number;
  /** Base64, as in the checkpoint. */
  readonly rootHash?: string;
  readonly owner?: { readonly address: Address; readonly name: string };
  readonly entriesChecked: number;
  readonly tilesFetched: number;
  readonly anchorsChecked: number;
  readonly elapsedMs: number;
  /** Every problem found, in check order; empty when `ok`. */
  readonly problems: readonly LogAuditProblem[];
}

/** At most this many tile problems are listed one by one; the rest are counted. */
const MAX_TILE_PROBLEMS = 20;

const bytesEqual = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
const base64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

class HttpStatusError extends Error {
  constructor(readonly status: number) {
    super(`HTTP ${status}`);
  }
}

/** `<nodeUrl>/<path>`; a node URL that is not http(s) is refused as ERR_INVALID_INPUT. */
export function parseNodeUrl(nodeUrl: string, path: string): URL {
  let url: URL;
  try {
    url = new URL(path, nodeUrl.endsWith('/') ? nodeUrl : `${nodeUrl}/`);
  } catch {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${nodeUrl} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CareLedgerError('ERR_INVALID_INPUT', `${nodeUrl} is not an http(s) URL`);
  return url;
}

function createLogClient(options: AuditLogOptions): (path: string) => Promise<Uint8Array> {
  const doFetch = options.fetch ?? fetch;
  const base = parseNodeUrl(options.nodeUrl, 'log/');
  return async (path) => {
    const url = new URL(path, base);
    let response: Response;
    try {
      response = await doFetch(url, { signal: AbortSignal.timeout(options.timeoutMs ?? 60_000) });
      if (!response.ok) {
        await response.body?.cancel();
        throw new HttpStatusError(response.status);
      }
      return new Uint8Array(await response.arrayBuffer());
    } catch (cause) {
      if (cause instanceof HttpStatusError) throw cause;
      throw new CareLedgerError('ERR_LOG_UNAVAILABLE', `${url.origin} does not answer (${url.pathname})`, {
        cause,
      });
    }
  };
}

/** Runs `fn` on every item with at most `limit` in flight; stops starting new ones after a throw. */
async function forEachConcurrently<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== undefined) throw failure.error;
}

/** Hashes per tile level of a tree of `size` leaves, held in memory: level 0 is the leaf hashes. */
type TileLevels = Uint8Array[];

function hashesAtLevel(size: number, level: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

function levelsSource(levels: TileLevels): TileSource {
  return (tile: TileCoordinate) => {
    if (tile.level === 'entries') return undefined;
    const data = levels[tile.level];
    const start = tile.index * TILE_WIDTH * HASH_SIZE;
    const end = start + tile.width * HASH_SIZE;
    if (data === undefined || end > data.length) return undefined;
    return data.subarray(start, end);
  };
}

// Each hash at tile level k is the root of 256 hashes at level k - 1 (c2sp.org/tlog-tiles "Merkle Tree").
function computeHigherLevels(leaves: Uint8Array, size: number): TileLevels {
  const levels: TileLevels = [leaves];
  for (let level = 1; hashesAtLevel(size, level) > 0; level++) {
    const below = levels[level - 1] as Uint8Array;
    const count = hashesAtLevel(size, level);
    const hashes = new Uint8Array(count * HASH_SIZE);
    for (let j = 0; j < count; j++) {
      const range = CompactRange.empty();
      for (let i = 0; i < TILE_WIDTH; i++) {
        const at = (j * TILE_WIDTH + i) * HASH_SIZE;
        range.append(below.subarray(at, at + HASH_SIZE));
      }
      hashes.set(range.root(), j * HASH_SIZE);
    }
    levels.push(hashes);
  }
  return levels;
}

interface FetchedTiles {
  readonly levels: TileLevels;
  readonly levelZeroComplete: boolean;
  readonly higherComplete: boolean;
  readonly entriesChecked: number;
  readonly tilesFetched: number;
}

/** Fetches every tile and entry bundle of a tree of `size` leaves; bundles are checked and dropped. */
async function fetchTiles(
  get: (path: string) => Promise<Uint8Array>,
  size: number,
  options: AuditLogOptions,
  problem: (p: LogAuditProblem) => void,
): Promise<FetchedTiles> {
  const tiles = tilesForSize(size);
  const levels: TileLevels = [];
  try {
    for (let level = 0; hashesAtLevel(size, level) > 0; level++)
      levels.push(new Uint8Array(hashesAtLevel(size, level) * HASH_SIZE));
  } catch (cause) {
    throw new CareLedgerError('ERR_INTERNAL', `a tree of ${size} entries is too large to audit in memory`, {
      cause,
    });
  }
  const levelZero = tiles.filter((t) => t.level === 0).length;
  const progress = options.progress?.(tiles.length + levelZero);
  let levelZeroComplete = true;
  let higherComplete = true;
  let entriesChecked = 0;
  let tilesFetched = 0;

  const fetchTile = async (tile: TileCoordinate): Promise<Uint8Array | undefined> => {
    const path = formatTilePath(tile.level, tile.index, tile.width);
    try {
      const data = await get(path);
      tilesFetched++;
      // An entry bundle's length depends on its entries; verifyEntryBundle checks its shape.
      if (tile.level !== 'entries') parseTile(data, tile.width);
      return data;
    } catch (error) {
      if (error instanceof HttpStatusError) {
        problem({ check: 'tiles', tile: path, message: `tile ${path} is not served (${error.message})` });
        return undefined;
      }
      if (isCareLedgerError(error) && error.code === 'ERR_LOG_TILE_INVALID') {
        problem({ check: 'tiles', tile: path, message: `tile ${path} has the wrong length for its width` });
        return undefined;
      }
      throw error;
    } finally {
      progress?.tick();
    }
  };

  const done = forEachConcurrently(tiles, options.concurrency ?? 8, async (tile) => {
    const level = tile.level as number;
    const data = await fetchTile(tile);
    if (data === undefined) {
      if (level === 0) levelZeroComplete = false;
      else higherComplete = false;
      if (level === 0) progress?.tick();
      return;
    }
    (levels[level] as Uint8Array).set(data, tile.index * TILE_WIDTH * HASH_SIZE);
    if (level !== 0) return;
    const bundle = await fetchTile({ ...tile, level: 'entries' });
    if (bundle === undefined) return;
    try {
      verifyEntryBundle(bundle, data, tile.width);
      entriesChecked += tile.width;
    } catch {
      const path = formatTilePath('entries', tile.index, tile.width);
      problem({
        check: 'tiles',
        tile: path,
        message: `entry bundle ${path} does not hash to its level-0 tile`,
      });
    }
  });
  try {
    await done;
  } finally {
    progress?.finish();
  }
  return { levels, levelZeroComplete, higherComplete, entriesChecked, tilesFetched };
}

/**
 * Audits the log a member node serves: the checkpoint's signature by the key the ledger registers
 * for its origin; every tile and entry bundle against the leaf hashes; the root against the
 * checkpoint; and every anchored (size, root) against the tree served (no rollback, no rewritten
 * history). Returns every problem found as a value; throws only when the node or the chain cannot
 * be reached. Memory: all leaf hashes once (32 bytes per entry); entry bundles are not kept.
 */
export async function auditLog(options: AuditLogOptions): Promise<LogAuditReport> {
  const clock = options.clock ?? { now: () => performance.now() };
  const started = clock.now();
  const get = createLogClient(options);
  const problems: LogAuditProblem[] = [];
  let tileProblems = 0;
  const problem = (p: LogAuditProblem): void => {
    if (p.check === 'tiles' && ++tileProblems > MAX_TILE_PROBLEMS) return;
    problems.push(p);
  };
  const counts = { entriesChecked: 0, tilesFetched: 0, anchorsChecked: 0 };
  const report = (extra: Partial<LogAuditReport> = {}): LogAuditReport => {
    if (tileProblems > MAX_TILE_PROBLEMS)
      problems.push({
        check: 'tiles',
        message: `and ${tileProblems - MAX_TILE_PROBLEMS} more tile problems`,
      });
    problems.sort((a, b) => LOG_AUDIT_CHECKS.indexOf(a.check) - LOG_AUDIT_CHECKS.indexOf(b.check));
    return {
      ok: problems.length === 0,
      nodeUrl: options.nodeUrl,
      ...extra,
      ...counts,
      elapsedMs: Math.round(clock.now() - started),
      problems,
    };
  };

  let noteText: Uint8Array;
  try {
    noteText = await get('checkpoint');
  } catch (error) {
    if (error instanceof HttpStatusError)
      throw new CareLedgerError('ERR_LOG_UNAVAILABLE', `the node serves no checkpoint (${error.message})`);
    throw error;
  }
  let note: SignedNote;
  let checkpoint: Checkpoint;
  try {
    note = parseSignedNote(noteText);
    checkpoint = parseCheckpoint(note.text);
  } catch (error) {
    const reason = isCareLedgerError(error) ? ` (${String(error.details.reason)})` : '';
    problem({ check: 'checkpoint', message: `the served checkpoint is malformed${reason}` });
    return report();
  }
  const { origin, size } = checkpoint;
  const described = { origin, size, rootHash: base64(checkpoint.rootHash) };

  const owner = await options.ledger.ownerOf(origin);
  if (owner === undefined) {
    problem({ check: 'log-owner', message: `no consortium member owns the log origin ${origin}` });
    return report(described);
  }
  const withOwner = { ...described, owner: { address: owner.address, name: owner.name } };
  try {
    verifyNote(note, [parseVerifierKey(owner.logVerifierKey)]);
  } catch (error) {
    const reason = isCareLedgerError(error) ? ` (${String(error.details.reason)})` : '';
    problem({
      check: 'checkpoint-signature',
      message: `the checkpoint is not signed by the log key ${owner.name} registered on the ledger${reason}`,
    });
    return report(withOwner);
  }

  const fetched = await fetchTiles(get, size, options, problem);
  counts.entriesChecked = fetched.entriesChecked;
  counts.tilesFetched = fetched.tilesFetched;

  // Roots are recomputed from the leaf hashes only; served higher tiles are checked, never trusted.
  let trusted: TileSource | undefined;
  if (fetched.levelZeroComplete) {
    let servedTilesOk = fetched.higherComplete;
    let root: Uint8Array | undefined;
    if (servedTilesOk) {
      try {
        root = rootFromTiles(size, levelsSource(fetched.levels));
      } catch (error) {
        if (!isCareLedgerError(error) || error.code !== 'ERR_LOG_TILE_INVALID') throw error;
        servedTilesOk = false;
        problem({
          check: 'tiles',
          message: 'a higher-level tile is not the root of the tiles below it (tile hash mismatch)',
        });
      }
    }
    trusted = levelsSource(
      servedTilesOk ? fetched.levels : computeHigherLevels(fetched.levels[0] as Uint8Array, size),
    );
    root ??= rootAtFromTiles(size, trusted);
    if (!bytesEqual(root, checkpoint.rootHash)) {
      problem({
        check: 'root',
        size,
        message: `the tiles served do not hash to the checkpoint root at size ${size}`,
      });
    }
  }

  const anchors = await options.ledger.anchorsOf(origin);
  const seen = new Map<number, Uint8Array>();
  let previous: number | undefined;
  for (const anchor of anchors) {
    const n = anchor.treeSize;
    if (previous !== undefined && n < previous)
      problem({ check: 'anchor-order', size: n, message: `anchored size ${n} comes after ${previous}` });
    previous = previous === undefined ? n : Math.max(previous, n);
    const earlier = seen.get(n);
    if (earlier !== undefined && !bytesEqual(earlier, anchor.rootHash))
      problem({
        check: 'anchor-conflict',
        size: n,
        message: `two anchors of size ${n} have different roots`,
      });
    seen.set(n, anchor.rootHash);
    if (n > size) {
      problem({
        check: 'anchor-rollback',
        size: n,
        message: `rollback: the node serves a smaller tree than it anchored (anchored ${n}, served ${size})`,
      });
    } else if (trusted !== undefined && !bytesEqual(rootAtFromTiles(n, trusted), anchor.rootHash)) {
      problem({ check: 'anchor-root', size: n, message: `equivocation / rewritten history at size ${n}` });
    }
    counts.anchorsChecked++;
  }
  return report(withOwner);
}

const grouped = (n: number): string => n.toLocaleString('en-US');

export function formatLogAuditReport(report: LogAuditReport): string {
  const lines = [`audit of ${report.origin ?? '(unknown origin)'} served by ${report.nodeUrl}`];
  if (report.size !== undefined)
    lines.push(`  checkpoint  size ${grouped(report.size)}, root ${report.rootHash}`);
  if (report.owner !== undefined) lines.push(`  owner       ${report.owner.name} (${report.owner.address})`);
  lines.push(
    `  tiles       ${grouped(report.tilesFetched)} fetched, ${grouped(report.entriesChecked)} entries checked`,
    `  anchors     ${grouped(report.anchorsChecked)} checked`,
    `  elapsed     ${(report.elapsedMs / 1000).toFixed(1)} s`,
  );
  if (report.ok) {
    lines.push('OK: the served log matches its signed checkpoint and every anchor on the ledger');
  } else {
    lines.push(`FAILED: ${report.problems.length} problem(s)`);
    for (const p of report.problems) lines.push(`  ${p.check}: ${p.message}`);
  }
  return lines.join('\n');
}

export interface LogAuditCommandOptions {
  readonly nodeUrl: string;
  readonly dataDir: string;
  readonly rpcUrl?: string;
  readonly deployment?: string;
  readonly concurrency?: number;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/** Resolves the chain RPC URL: the option, then $CARELEDGER_CHAIN_RPC_URL, then the data dir's chain.json. */

/**
 * `careledger log audit <node-url>`: prints the report (text or JSON) on `stdout`, the progress on
 * `stderr`, and throws a CareLedgerError naming the first failed check if there is one.
 */
export async function runLogAudit(
  options: LogAuditCommandOptions,
  io: { stdout?: CommandOutput; stderr?: ProgressStream } = {},
): Promise<LogAuditReport> {
  const stdout = io.stdout ?? process.stdout;
  const deployment = loadDeployment(options.deployment ?? deploymentFile(options.dataDir));
  const rpcUrl = resolveRpcUrl(options.dataDir, options.rpcUrl);
  const concurrency = options.concurrency ?? 8;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > 256)
    throw new CareLedgerError('ERR_INVALID_INPUT', '--concurrency must be an integer from 1 to 256');
  const ledger = createChainLogLedger(createChainClient(rpcUrl, deployment.chainId), deployment);
  const report = await auditLog({
    nodeUrl: options.nodeUrl,
    ledger,
    concurrency,
    progress: (total) =>
      createProgressBar({
        label: 'tiles',
        total,
        quiet: options.quiet === true,
        stream: io.stderr ?? process.stderr,
      }),
  });
  stdout.write(
    options.json === true ? `${JSON.stringify(report, null, 2)}\n` : `${formatLogAuditReport(report)}\n`,
  );
  const first = report.problems[0];
  if (first !== undefined) {
    throw new CareLedgerError(
      CHECK_ERROR_CODES[first.check],
      `audit failed at check ${first.check}: ${first.message}`,
      {
        details: { check: first.check, problems: report.problems.length },
      },
    );
  }
  return report;
}
