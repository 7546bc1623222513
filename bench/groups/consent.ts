/**
 * Grant-to-enforcement latency: from the patient signing an EIP-712 grant to the node's own ledger
 * index (ChainIndexer polling every 100 ms) answering evaluateConsent with `allowed`.
 */
import { randomBytes } from 'node:crypto';
import { getAddress, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { evaluateConsent, MemoryConsentOpeningStore } from '../../src/consent/index.js';
import {
  type ConsentGrant,
  computeGrantId,
  createConsentDomain,
  createGrantSalt,
  createGrantTypedData,
  DATA_CATEGORIES,
  PURPOSES_OF_USE,
} from '../../src/ledger/index.js';
import { SqliteChainIndexStorage } from '../../src/storage/sqlite/sqlite-chain-index-storage.js';
import { ChainIndexer } from '../../src/sync/index.js';
import { BLOCK_TIME_SECONDS, CHAIN_ID, startLedger } from '../ledger-fixture.js';
import { durationRatio, percentile, sleep } from '../measure.js';
import type { Figure, Group, GroupContext, GroupResult } from '../types.js';

const INDEXER_POLL_MS = 100;
/** How often the benchmark asks evaluateConsent (a local SQLite read) while waiting. */
const QUERY_POLL_MS = 5;

export const consentGroup: Group = {
  name: 'consent',
  description: 'consent grant → enforcement latency through chain and index',
  async run(ctx: GroupContext): Promise<GroupResult> {
    const grants = ctx.options.quick ? 5 : 20;
    const fixture = await startLedger(ctx, 'consent');
    const total: number[] = [];
    const relay: number[] = [];
    try {
      const storage = new SqliteChainIndexStorage(fixture.db);
      const indexer = new ChainIndexer({ client: fixture.client, storage, deployment: fixture.deployment });
      indexer.start(INDEXER_POLL_MS);
      try {
        const domain = createConsentDomain(CHAIN_ID, fixture.deployment.contracts.consentRegistry);
        const category = 1n << BigInt(DATA_CATEGORIES.conditions.bit);
        const purpose = 1n << BigInt(PURPOSES_OF_USE.TREAT.bit);
        const openings = new MemoryConsentOpeningStore();
        for (let i = 0; i < grants; i++) {
          const patient = privateKeyToAccount(generatePrivateKey());
          // Checksummed: the index stores event addresses as viem decodes them (EIP-55).
          const grantee = getAddress(toHex(randomBytes(20)));
          const now = Math.floor(Date.now() / 1000);
          const t0 = performance.now();
          const grant: ConsentGrant = {
            patient: patient.address,
            grantee,
            categories: category,
            purposes: purpose,
            salt: createGrantSalt(),
            notBefore: BigInt(now - 60),
            notAfter: BigInt(now + 3600),
            nonce: 0n,
          };
          const signature = await patient.signTypedData(createGrantTypedData(domain, grant));
          // Decision 0013: the relaying node keeps the opening; the chain holds its commitment.
          await openings.save({ grant, signature, grantId: computeGrantId(domain, grant) });
          await fixture.ledger.relayGrant(grant, signature);
          relay.push(performance.now() - t0);
          const deadline = t0 + 30_000;
          for (;;) {
            const decision = await evaluateConsent(storage, openings, {
              patient: patient.address,
              grantee,
              category,
              purpose,
              at: Math.floor(Date.now() / 1000),
            });
            if (decision.allowed) break;
            if (performance.now() > deadline) throw new Error('grant not enforced within 30 s');
            await sleep(QUERY_POLL_MS);
          }
          total.push(performance.now() - t0);
          ctx.progress(
            `consent: grant ${i + 1}/${grants} enforced after ${Math.round(total.at(-1) ?? 0)} ms`,
          );
          // Start the next grant at a random point of the block interval, not in lockstep with it.
          await sleep(Math.random() * BLOCK_TIME_SECONDS * 1000);
        }
      } finally {
        await indexer.stop();
      }
    } finally {
      await fixture.close();
    }
    const p50 = percentile(total, 50);
    const figures: Figure[] = [
      {
        group: 'consent',
        id: 'consent.enforcement',
        label: 'grant signed → evaluateConsent allows',
        value: p50,
        p99: percentile(total, 99),
        unit: 'ms',
        extra: { grants: total.length, indexerPollMs: INDEXER_POLL_MS },
        ratios: [durationRatio(p50 / 1000, BLOCK_TIME_SECONDS, 'block time')],
      },
      {
        group: 'consent',
        id: 'consent.relay',
        label: 'grant signed → relay stored in the outbox',
        value: percentile(relay, 50),
        p99: percentile(relay, 99),
        unit: 'ms',
        extra: { grants: relay.length },
        ratios: [durationRatio(percentile(relay, 50) / 1000, BLOCK_TIME_SECONDS, 'block time')],
      },
    ];
    return {
      figures,
      charts: [
        {
          file: 'consent.svg',
          title: 'Consent grant latency, ms (p50 bar, p99 tick)',
          unit: 'ms',
          figureIds: ['consent.relay', 'consent.enforcement'],
          showP99: true,
          scale: 'linear',
        },
      ],
      notes: [
        'Latency runs from the start of EIP-712 signing; it includes the outbox relay (simulate, sign, ' +
          'fsync, send), waiting for the next 1 s block, the indexer poll (100 ms) and the local query.',
      ],
    };
  },
};
