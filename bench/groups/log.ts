/**
 * The transparency log over SQLite: durable append throughput under 1, 16 and 256 concurrent
 * appenders, and proof generation and verification at two tree sizes.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSignerKey,
  hashLeaf,
  verifyConsistencyProof,
  verifyInclusionProof,
} from '../../src/log/index.js';
import { TransparencyLog } from '../../src/log/transparency-log.js';
import { openDatabase } from '../../src/storage/sqlite/open-database.js';
import { logMigrations, SqliteLogStorage } from '../../src/storage/sqlite/sqlite-log-storage.js';
import { costRatio, formatNumber, percentile, rateRatio, sampleMicros } from '../measure.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';

const ORIGIN = 'bench.careledger.example/log';
const ENTRY_SIZE = 300;

interface OpenLog {
  readonly log: TransparencyLog;
  close(): Promise<void>;
}

async function openLog(path: string): Promise<OpenLog> {
  const storage = new SqliteLogStorage(openDatabase(path, logMigrations), { closeDatabase: true });
  const log = await TransparencyLog.open({
    storage,
    signerKey: createSignerKey(ORIGIN).signerKey,
    origin: ORIGIN,
  });
  return {
    log,
    async close() {
      await log.stop();
      await storage.close();
    },
  };
}

/** `workers` loops of `await log.append(entry)` until the deadline (or until `limit` entries). */
async function runAppenders(
  log: TransparencyLog,
  workers: number,
  options: { durationMs?: number; limit?: number; entries: readonly Uint8Array[] },
): Promise<{ appends: number; seconds: number }> {
  const start = performance.now();
  const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : start + options.durationMs;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let issued = 0;
  let appends = 0;
  const worker = async (): Promise<void> => {
    while (issued < limit && performance.now() < deadline) {
      const entry = options.entries[issued % options.entries.length] as Uint8Array;
      issued += 1;
      await log.append(entry);
      appends += 1;
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return { appends, seconds: (performance.now() - start) / 1000 };
}

function summary(
  id: string,
  label: string,
  samples: number[],
  sha: Figure,
  extra: Record<string, number | string> = {},
): Figure {
  const p50 = percentile(samples, 50);
  return {
    group: 'log',
    id,
    label,
    value: p50,
    unit: 'µs',
    p99: percentile(samples, 99),
    extra: { samples: samples.length, ...extra },
    ratios: [costRatio(p50 / 1e6, sha, 'SHA-256(64 B) time')],
  };
}

export const logGroup: Group = {
  name: 'log',
  description: 'transparency log: durable appends and proofs (RFC 9162) over SQLite',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const { quick } = ctx.options;
    const commit = await ctx.limit('limits.sqlite.commit');
    const batched = await ctx.limit('limits.sqlite.batched');
    const sha = await ctx.limit('limits.sha256.64');
    const figures: Figure[] = [];
    const notes: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'careledger-bench-log-'));
    const release = ctx.onInterrupt(() => rmSync(dir, { recursive: true, force: true }));
    try {
      const entries = Array.from({ length: 1024 }, () => randomBytes(ENTRY_SIZE));
      const durationMs = quick ? 500 : 3000;
      for (const concurrency of [1, 16, 256]) {
        ctx.progress(`log: ${concurrency} concurrent appender(s) for ${durationMs / 1000} s`);
        const opened = await openLog(join(dir, `append-${concurrency}.db`));
        try {
          const { appends, seconds } = await runAppenders(opened.log, concurrency, { durationMs, entries });
          const rate = appends / seconds;
          figures.push({
            group: 'log',
            id: `log.append.c${concurrency}`,
            label: `log append, ${concurrency} concurrent`,
            value: rate,
            unit: 'appends/s',
            extra: { appends, seconds: Number(seconds.toFixed(3)), entryBytes: ENTRY_SIZE },
            ratios: [
              rateRatio(rate, commit, 'raw SQLite single-commit rate'),
              rateRatio(rate, batched, 'raw SQLite batched commit rate'),
              rateRatio(rate, sha, 'SHA-256(64 B) rate'),
            ],
          });
        } finally {
          await opened.close();
        }
      }

      const samples = quick ? 300 : 2000;
      for (const size of quick ? [1_000, 100_000] : [1_000, 1_000_000]) {
        const sizeLabel = `10^${Math.log10(size)}`;
        ctx.progress(`log: building a ${formatNumber(size)}-entry log (1,000 appends in flight)`);
        const opened = await openLog(join(dir, `proofs-${size}.db`));
        try {
          const { log } = opened;
          const built = await runAppenders(log, 1000, { limit: size, entries });
          if (log.size !== size) throw new Error(`log has ${log.size} entries, expected ${size}`);
          notes.push(
            `Building the ${formatNumber(size)}-entry log took ${formatNumber(built.seconds)} s ` +
              `(${formatNumber(size / built.seconds)} appends/s with 1,000 in flight).`,
          );
          const root = log.root();

          ctx.progress(`log: ${samples} inclusion proofs at ${sizeLabel} entries`);
          const indices = Array.from({ length: samples }, () => randomInt(size));
          const proofs: Uint8Array[][] = [];
          const create = await sampleMicros(samples, async (i) => {
            proofs[i] = await log.createInclusionProof(indices[i] as number, size);
          });
          const leafHashes = await Promise.all(
            indices.map(async (index) => hashLeaf(await log.readEntry(index))),
          );
          const verify = await sampleMicros(samples, (i) => {
            verifyInclusionProof(
              leafHashes[i] as Uint8Array,
              indices[i] as number,
              size,
              proofs[i] as Uint8Array[],
              root,
            );
          });
          const proofLength = proofs[0]?.length ?? 0;
          figures.push(
            summary(
              `log.inclusion.create.${size}`,
              `inclusion proof, create, ${sizeLabel} entries`,
              create,
              sha,
              {
                proofHashes: proofLength,
              },
            ),
            summary(
              `log.inclusion.verify.${size}`,
              `inclusion proof, verify, ${sizeLabel} entries`,
              verify,
              sha,
              {
                proofHashes: proofLength,
              },
            ),
          );

          ctx.progress(`log: ${samples} consistency proofs at ${sizeLabel} entries`);
          const oldSizes = Array.from({ length: samples }, () => 1 + randomInt(size - 1));
          const cproofs: Uint8Array[][] = [];
          const ccreate = await sampleMicros(samples, async (i) => {
            cproofs[i] = await log.createConsistencyProof(oldSizes[i] as number, size);
          });
          const oldRoots = new Map<number, Uint8Array>();
          for (const oldSize of oldSizes) {
            if (!oldRoots.has(oldSize)) oldRoots.set(oldSize, await log.rootAt(oldSize));
          }
          const cverify = await sampleMicros(samples, (i) => {
            const oldSize = oldSizes[i] as number;
            verifyConsistencyProof(
              oldSize,
              size,
              cproofs[i] as Uint8Array[],
              oldRoots.get(oldSize) as Uint8Array,
              root,
            );
          });
          figures.push(
            summary(
              `log.consistency.create.${size}`,
              `consistency proof, create, ${sizeLabel} entries`,
              ccreate,
              sha,
            ),
            summary(
              `log.consistency.verify.${size}`,
              `consistency proof, verify, ${sizeLabel} entries`,
              cverify,
              sha,
            ),
          );
        } finally {
          await opened.close();
          rmSync(join(dir, `proofs-${size}.db`), { force: true });
        }
      }
    } finally {
      release();
      rmSync(dir, { recursive: true, force: true });
    }
    const sizes = quick ? [1_000, 100_000] : [1_000, 1_000_000];
    return {
      figures,
      charts: [
        {
          file: 'log-append.svg',
          title: 'Durable log appends/s by concurrency, beside raw SQLite commit rates (log scale)',
          unit: '/s',
          figureIds: ['log.append.c1', 'log.append.c16', 'log.append.c256'],
          referenceIds: ['limits.sqlite.commit', 'limits.sqlite.batched'],
          scale: 'log',
        },
        {
          file: 'log-proofs.svg',
          title: 'Proof time, µs (p50 bar, p99 tick; log scale)',
          unit: 'µs',
          figureIds: sizes.flatMap((size) => [
            `log.inclusion.create.${size}`,
            `log.inclusion.verify.${size}`,
            `log.consistency.create.${size}`,
            `log.consistency.verify.${size}`,
          ]),
          showP99: true,
          scale: 'log',
        },
      ],
      notes,
    };
  },
};
