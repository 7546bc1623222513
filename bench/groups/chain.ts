/**
 * The embedded anvil: ledger write throughput through the durable outbox, then state growth and
 * restart time as the chain reaches 10^3, 10^4 and 10^5 transactions.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { type Address, encodeFunctionData, getAddress, type Hex, toHex } from 'viem';
import { EmbeddedChain } from '../../src/chain/index.js';
import { consortiumRegistryAbi } from '../../src/ledger/index.js';
import { findFreePort } from '../../test/support/free-port.js';
import {
  BLOCK_TIME_SECONDS,
  CHAIN_ID,
  createClient,
  type LedgerFixture,
  startLedger,
} from '../ledger-fixture.js';
import { durationRatio, formatNumber, percentile, rateRatio, sleep } from '../measure.js';
import type { ChartSpec, Figure, Group, GroupContext, GroupResult } from '../types.js';

const IN_FLIGHT = 50;
/** Unmined transactions allowed in anvil's pool while filling the chain (keeps blocks ~1 s of work). */
const FILL_WINDOW = 2_000;
/** Transactions per JSON-RPC batch while filling. */
const FILL_CHUNK = 250;
/** If reaching 10^5 transactions would take longer than this, the last step is 3×10^4 instead. */
const FILL_BUDGET_SECONDS = 240;

function randomAddress(): Address {
  return getAddress(toHex(randomBytes(20)));
}

function attestData(): Hex {
  return encodeFunctionData({
    abi: consortiumRegistryAbi,
    functionName: 'attestPractitioner',
    args: [randomAddress(), toHex(randomBytes(32)), 'MD', 4_000_000_000n],
  });
}

/** The first line of an error and of its innermost cause (viem puts the RPC's own words there). */
function describeError(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && depth < 6; depth++) {
    const details = (e as { details?: unknown }).details;
    parts.push(typeof details === 'string' ? details : (e.message.split('\n')[0] ?? ''));
    e = e.cause;
  }
  return [...new Set(parts)].join(' ← ');
}

async function measureOutboxThroughput(
  ctx: GroupContext,
  fixture: LedgerFixture,
  count: number,
): Promise<{ seconds: number; latenciesMs: number[]; retries: Map<string, number> }> {
  const latenciesMs: number[] = [];
  const retries = new Map<string, number>();
  let issued = 0;
  const start = performance.now();
  const submit = async () => {
    // A submit that the chain refuses before anything is signed (simulation failed) is retried, and
    // counted: the figure is the throughput of writes that reached the chain.
    for (let attempt = 1; ; attempt++) {
      try {
        return await fixture.ledger.attestPractitioner(
          randomAddress(),
          toHex(randomBytes(32)),
          'MD',
          4_000_000_000n,
        );
      } catch (error) {
        const reason = describeError(error);
        retries.set(reason, (retries.get(reason) ?? 0) + 1);
        if (attempt >= 5) throw error;
        ctx.progress(`chain: submit failed (${reason}); retrying`);
      }
    }
  };
  const worker = async (): Promise<void> => {
    while (issued < count) {
      issued += 1;
      const t0 = performance.now();
      const entry = await submit();
      const done = await fixture.outbox.waitForConfirmation(entry.id, 120_000);
      if (done.receiptStatus !== 'success') throw new Error(`attestPractitioner ${done.status}`);
      latenciesMs.push(performance.now() - t0);
      if (latenciesMs.length % Math.max(1, Math.floor(count / 4)) === 0) {
        ctx.progress(`chain: ${latenciesMs.length}/${count} outbox transactions confirmed`);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return { seconds: (performance.now() - start) / 1000, latenciesMs, retries };
}

interface RpcReply {
  readonly id: number;
  readonly error?: { readonly message: string };
}

/** One JSON-RPC batch of eth_sendRawTransaction calls (one HTTP request instead of one per transaction). */
async function sendBatch(rpcUrl: string, raws: readonly Hex[]): Promise<void> {
  const body = raws.map((raw, id) => ({
    jsonrpc: '2.0',
    id,
    method: 'eth_sendRawTransaction',
    params: [raw],
  }));
  const response = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const replies = (await response.json()) as RpcReply[];
  const failed = replies.find((r) => r.error !== undefined);
  if (failed?.error !== undefined) throw new Error(`eth_sendRawTransaction: ${failed.error.message}`);
}

/**
 * Sends pre-signed attestPractitioner transactions from the member account straight to anvil, in
 * JSON-RPC batches (the outbox's per-transaction simulation and fsync would make 10^5 too slow for
 * the time budget; the calldata, and so the state written per transaction, are the same) until its
 * nonce reaches `target` or the deadline passes. Returns the number of transactions then mined.
 */
async function fillTo(
  ctx: GroupContext,
  fixture: LedgerFixture,
  target: number,
  gas: bigint,
  deadline: number,
): Promise<number> {
  const { account, client } = fixture;
  const rpcUrl = fixture.chain.rpcUrl;
  const mined = () => client.getTransactionCount({ address: account.address, blockTag: 'latest' });
  let nonce = await client.getTransactionCount({ address: account.address, blockTag: 'pending' });
  let confirmed = await mined();
  let inFlight: Promise<void> = Promise.resolve();
  let nextReport = Math.ceil((nonce + 1) / 10_000) * 10_000;
  while (nonce < target && performance.now() < deadline) {
    if (nonce - confirmed >= FILL_WINDOW) {
      await sleep(100);
      confirmed = await mined();
      continue;
    }
    const chunk = Math.min(FILL_CHUNK, target - nonce, FILL_WINDOW - (nonce - confirmed));
    const raws: Hex[] = [];
    for (let i = 0; i < chunk; i++) {
      raws.push(
        await account.signTransaction({
          type: 'legacy',
          chainId: CHAIN_ID,
          nonce: nonce + i,
          to: fixture.deployment.contracts.consortiumRegistry,
          data: attestData(),
          gas,
          gasPrice: 0n,
          value: 0n,
        }),
      );
    }
    // Sign the next chunk while this one is sent; batches stay in nonce order.
    await inFlight;
    inFlight = sendBatch(rpcUrl, raws);
    nonce += chunk;
    if (nonce >= nextReport) {
      ctx.progress(`chain: ${formatNumber(nonce)} transactions sent`);
      nextReport += 10_000;
    }
  }
  await inFlight;
  while (confirmed < nonce) {
    await sleep(100);
    confirmed = await mined();
  }
  return confirmed;
}

export const chainGroup: Group = {
  name: 'chain',
  description: 'embedded anvil: outbox write throughput, state growth, restart',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const { quick } = ctx.options;
    const secpSign = await ctx.limit('limits.secp256k1.sign');
    const fileFsync = await ctx.limit('limits.fsync');
    const figures: Figure[] = [];
    const notes: string[] = [];
    let fillRate: number | undefined;
    const fixture = await startLedger(ctx, 'chain');
    try {
      // (a) Write throughput through the durable outbox.
      // Full: 997 writes, so that with the 3 deployments the chain holds exactly 10^3 transactions for
      // the first state-growth step.
      const count = quick ? 200 : 997;
      ctx.progress(
        `chain: ${count} attestPractitioner transactions through the outbox, ${IN_FLIGHT} in flight`,
      );
      const { seconds, latenciesMs, retries } = await measureOutboxThroughput(ctx, fixture, count);
      for (const [reason, n] of retries) {
        notes.push(`${n} outbox submit(s) were refused before signing and retried: ${reason}`);
      }
      const rate = count / seconds;
      figures.push({
        group: 'chain',
        id: 'chain.outbox.tps',
        label: `ledger writes through the outbox, ${IN_FLIGHT} in flight`,
        value: rate,
        unit: 'tx/s',
        extra: {
          transactions: count,
          seconds: Number(seconds.toFixed(2)),
          retriedSubmits: [...retries.values()].reduce((a, b) => a + b, 0),
        },
        ratios: [
          rateRatio(rate, secpSign, 'raw secp256k1 signing rate'),
          rateRatio(rate, fileFsync, 'raw fsync rate'),
        ],
      });
      const p50 = percentile(latenciesMs, 50);
      figures.push({
        group: 'chain',
        id: 'chain.outbox.latency',
        label: 'outbox submit → confirmation latency',
        value: p50,
        p99: percentile(latenciesMs, 99),
        unit: 'ms',
        extra: { samples: latenciesMs.length },
        ratios: [durationRatio(p50 / 1000, BLOCK_TIME_SECONDS, 'block time')],
      });
      await fixture.outbox.stop();

      // (b) State growth and restart time.
      const gas = await fixture.client.estimateGas({
        account: fixture.account.address,
        to: fixture.deployment.contracts.consortiumRegistry,
        data: attestData(),
      });
      const gasLimit = (gas * 3n) / 2n + 50_000n;
      let milestones = quick ? [1_000] : [1_000, 10_000, 100_000];
      let previous: { transactions: number; bytes: number } | undefined;
      for (let m = 0; m < milestones.length; m++) {
        let target = milestones[m] as number;
        const fillStart = performance.now();
        const before = await fixture.client.getTransactionCount({ address: fixture.account.address });
        ctx.progress(`chain: filling to ${formatNumber(target)} transactions (now ${formatNumber(before)})`);
        if (target === 100_000) {
          // Decide from the rate measured so far whether 10^5 fits the time budget.
          const rate = fillRate ?? 0;
          const needed = (target - before) / Math.max(rate, 1);
          if (needed > FILL_BUDGET_SECONDS) {
            target = 30_000;
            milestones = [...milestones.slice(0, m), target];
            notes.push(
              `At ${formatNumber(rate)} tx/s, 10^5 transactions would take ${formatNumber(needed)} s to ` +
                'reach, beyond the time budget; the last step is 3×10^4 transactions instead.',
            );
            ctx.progress(`chain: 10^5 would take ${formatNumber(needed)} s; going to 3×10^4 instead`);
          }
        }
        if (before > target)
          throw new Error(`the chain already holds ${before} transactions, beyond ${target}`);
        // A hard stop at 1.25 × the budget in case the rate drops (a loaded machine): the step then
        // reports the size actually reached.
        const reached = await fillTo(ctx, fixture, target, gasLimit, fillStart + FILL_BUDGET_SECONDS * 1250);
        if (reached < target) {
          notes.push(
            `The fill towards ${formatNumber(target)} transactions hit the time limit; the last step is at ` +
              `${formatNumber(reached)} transactions.`,
          );
          target = reached;
        }
        const fillSeconds = (performance.now() - fillStart) / 1000;
        if (target - before > 500) fillRate = (target - before) / fillSeconds;
        const label =
          target === 1_000
            ? '10^3'
            : target === 10_000
              ? '10^4'
              : target === 100_000
                ? '10^5'
                : formatNumber(target);

        ctx.progress(`chain: snapshot at ${label} transactions`);
        const snap = await fixture.chain.snapshot({ force: true });
        if (snap === undefined) throw new Error('snapshot returned nothing');
        const fileBytes = statSync(fixture.chain.snapshotPath).size;
        const perTxKb = snap.bytes / target / 1024;
        const marginalKb =
          previous === undefined
            ? undefined
            : (snap.bytes - previous.bytes) / (target - previous.transactions) / 1024;
        previous = { transactions: target, bytes: snap.bytes };
        const snapshotMBps = snap.bytes / (1024 * 1024) / (snap.durationMs / 1000);
        figures.push({
          group: 'chain',
          id: `chain.state.${target}`,
          label: `anvil state at ${label} tx (gzipped snapshot)`,
          value: perTxKb,
          unit: 'KB/tx',
          extra: {
            transactions: target,
            snapshotBytes: snap.bytes,
            snapshotFileBytes: fileBytes,
            blockNumber: snap.blockNumber,
            ...(marginalKb === undefined ? {} : { marginalKbPerTx: Number(marginalKb.toFixed(3)) }),
            fillSeconds: Number(fillSeconds.toFixed(1)),
          },
          ratios: [],
        });
        figures.push({
          group: 'chain',
          id: `chain.snapshot.${target}`,
          label: `snapshot (dump + durable write) at ${label} tx`,
          value: snap.durationMs,
          unit: 'ms',
          extra: { bytes: snap.bytes, MBps: Number(snapshotMBps.toFixed(2)) },
          ratios: [durationRatio(snap.durationMs / 1000, BLOCK_TIME_SECONDS, 'block time')],
        });

        ctx.progress(`chain: restart at ${label} transactions`);
        const stopStart = performance.now();
        await fixture.chain.stop();
        const stopMs = performance.now() - stopStart;
        const restarted = new EmbeddedChain({
          dir: fixture.chainDir,
          port: await findFreePort(),
          blockTimeSeconds: BLOCK_TIME_SECONDS,
          snapshotIntervalMs: 3_600_000,
          restartOnCrash: false,
        });
        fixture.chain = restarted;
        const startStart = performance.now();
        await restarted.start();
        const restartMs = performance.now() - startStart;
        fixture.client = createClient(restarted.rpcUrl);
        const after = await fixture.client.getTransactionCount({ address: fixture.account.address });
        if (after !== target) throw new Error(`restarted chain has nonce ${after}, expected ${target}`);
        figures.push({
          group: 'chain',
          id: `chain.restart.${target}`,
          label: `restart (new anvil, load snapshot) at ${label} tx`,
          value: restartMs,
          unit: 'ms',
          extra: { stopMs: Math.round(stopMs), snapshotBytes: snap.bytes },
          ratios: [durationRatio(restartMs / 1000, BLOCK_TIME_SECONDS, 'block time')],
        });
      }
      notes.push(
        'Outbox figures include, per transaction, eth_call + eth_estimateGas, signing, one durable SQLite ' +
          'insert and sendRawTransaction; confirmation is noticed by the outbox pump every 100 ms.',
        `The growth phase sends pre-signed transactions directly to anvil (${formatNumber(FILL_WINDOW)} unmined at most), ` +
          `at ${formatNumber(fillRate ?? 0)} tx/s in the last step.`,
      );
    } finally {
      await fixture.close();
    }
    const charts: ChartSpec[] = [
      {
        file: 'chain-restart.svg',
        title: 'Snapshot and restart time by chain size, ms',
        unit: 'ms',
        figureIds: figures
          .filter((f) => f.id.startsWith('chain.snapshot.') || f.id.startsWith('chain.restart.'))
          .map((f) => f.id),
        scale: 'linear',
      },
      {
        file: 'chain-outbox.svg',
        title: 'Outbox submit → confirmation latency, ms (p50 bar, p99 tick)',
        unit: 'ms',
        figureIds: ['chain.outbox.latency'],
        showP99: true,
        scale: 'linear',
      },
    ];
    return { figures, charts, notes };
  },
};
