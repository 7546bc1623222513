import type { Address, Hex } from 'viem';
import type { ChainIndexStorage } from '../sync/index.js';
import type { ConsentOpening } from './consent-opening.js';
import {
  type OpeningDelivery,
  openingBody,
  openingRecipients,
  postOpening,
  type RecipientIndex,
} from './deliver-opening.js';

/** One (grant, member) pair the node still owes an opening. */
export interface QueuedOpeningDelivery {
  readonly grantId: Hex;
  readonly member: Address;
  /** Attempts made so far. */
  readonly attempts: number;
  readonly nextAttemptAt: number;
}

/** What the node shows of its queue: counts, and the last failure's reason (an HTTP status or error name). */
export interface OpeningDeliveryCounts {
  readonly pending: number;
  readonly delivered: number;
  readonly failed: number;
  readonly lastError: string | null;
}

/** Where the queue is kept durably; implemented by a storage adapter (SQLite). */
export interface OpeningDeliveryStore {
  /** Adds the pair as pending; a delivered pair is left alone, a failed one is pending again. */
  enqueue(grantId: Hex, member: Address, now: number): Promise<void>;
  /** The pair while it is pending. */
  get(grantId: Hex, member: Address): Promise<QueuedOpeningDelivery | undefined>;
  due(now: number, limit: number): Promise<QueuedOpeningDelivery[]>;
  /**
   * Takes the pair for one sender, in one statement: if it is pending and due at `now`, its next
   * attempt moves to `until` (a lease no other process can claim before) and it is returned;
   * otherwise (delivered, failed, not yet due, or claimed by another process) undefined.
   */
  claim(
    grantId: Hex,
    member: Address,
    now: number,
    until: number,
  ): Promise<QueuedOpeningDelivery | undefined>;
  markDelivered(grantId: Hex, member: Address, now: number): Promise<void>;
  markRetry(grantId: Hex, member: Address, nextAttemptAt: number, error: string, now: number): Promise<void>;
  markFailed(grantId: Hex, member: Address, error: string, now: number): Promise<void>;
  counts(): Promise<OpeningDeliveryCounts>;
}

export interface OpeningDeliveryQueueOptions {
  readonly store: OpeningDeliveryStore;
  readonly index: RecipientIndex & Pick<ChainIndexStorage, 'grant'>;
  readonly openings: { load(grantId: Hex): Promise<ConsentOpening | undefined> };
  /** This member: it keeps its own copy and sends itself nothing. */
  readonly self: Address;
  readonly fetch?: typeof fetch;
  /** Milliseconds since the epoch; injected in tests to drive retries. */
  readonly now?: () => number;
  readonly timeoutMs?: number;
  /** First retry delay; doubled per attempt up to maxDelayMs. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** After this many attempts a pair is failed (a later ledger event or announcement queues it again). */
  readonly maxAttempts?: number;
  /** Grant ids, member addresses and reasons only. */
  readonly log?: (line: string) => void;
}

/** Due pairs handled per pump. */
const BATCH = 100;
/**
 * How long a claimed pair is reserved for its sender (decision 0014 §9), at least twice a send's
 * timeout; if the sender dies, the pair is due again after it.
 */
const CLAIM_MS = 60_000;

/**
 * The durable delivery of grant openings (decision 0013), as the outbox is for transactions: each
 * (grant, member) pair that must hold an opening is stored before it is sent, and re-sent with bounded
 * exponential backoff until the member acknowledges (2xx), across restarts of this node. A pair stops
 * (failed) when its grant is revoked or expired, when the member left the consortium, or after
 * maxAttempts; custodians refuse access until they hold the opening, so a failed pair never permits.
 */
export function createOpeningDeliveryQueue(options: OpeningDeliveryQueueOptions) {
  const { store, index } = options;
  const send = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const baseDelay = options.baseDelayMs ?? 5_000;
  const maxDelay = options.maxDelayMs ?? 15 * 60_000;
  const maxAttempts = options.maxAttempts ?? 30;
  const claimMs = Math.max(CLAIM_MS, 2 * (options.timeoutMs ?? 0));
  const log = options.log ?? (() => undefined);
  let pumping: Promise<number> | undefined;
  let timer: NodeJS.Timeout | undefined;

  /** Why a pair must no longer be sent, if it must not. */
  const stopReason = async (opening: ConsentOpening, at: number): Promise<string | undefined> => {
    const grant = await index.grant(opening.grantId);
    if (grant?.revokedAt !== null && grant?.revokedAt !== undefined) return 'grant-revoked';
    const notAfter = grant?.notAfter ?? Number(opening.grant.notAfter);
    if (notAfter * 1000 <= at) return 'grant-expired';
    return undefined;
  };

  const attempt = async (pair: QueuedOpeningDelivery): Promise<OpeningDelivery> => {
    const at = now();
    const fail = async (reason: string): Promise<OpeningDelivery> => {
      await store.markFailed(pair.grantId, pair.member, reason, at);
      log(`consent opening ${pair.grantId} to ${pair.member} dropped: ${reason}`);
      return { member: pair.member, delivered: false, error: reason };
    };
    const opening = await options.openings.load(pair.grantId);
    if (opening === undefined) return fail('opening-missing');
    const stop = await stopReason(opening, at);
    if (stop !== undefined) return fail(stop);
    const member = (await index.members()).find((m) => m.address.toLowerCase() === pair.member.toLowerCase());
    if (member === undefined || member.status !== 'active' || member.fhirBaseUrl === '')
      return fail('member-inactive');
    const result = await postOpening(
      send,
      { address: member.address, fhirBaseUrl: member.fhirBaseUrl },
      openingBody(opening),
      options.timeoutMs,
    );
    const done = now();
    if (result.delivered) {
      await store.markDelivered(pair.grantId, pair.member, done);
      return result;
    }
    const error = result.error ?? 'unknown';
    if (pair.attempts + 1 >= maxAttempts) return fail(`gave up after ${maxAttempts} attempts: ${error}`);
    await store.markRetry(pair.grantId, pair.member, done + backoff(pair.attempts), error, done);
    return result;
  };

  /** Delay after the (attempts + 1)th failure: base, 2·base, 4·base, … capped at maxDelay. */
  const backoff = (attempts: number) => Math.min(maxDelay, baseDelay * 2 ** Math.min(attempts, 30));

  const runDue = async (): Promise<number> => {
    let handled = 0;
    for (;;) {
      const due = await store.due(now(), BATCH);
      for (const candidate of due) {
        // Another process of the member may be pumping too: only the one whose claim matched sends.
        const claimedAt = now();
        const pair = await store.claim(candidate.grantId, candidate.member, claimedAt, claimedAt + claimMs);
        if (pair === undefined) continue;
        handled += 1;
        try {
          await attempt(pair);
        } catch (error) {
          // An index or store read failed: try again later, never lose the pair.
          const at = now();
          await store.markRetry(
            pair.grantId,
            pair.member,
            at + backoff(pair.attempts),
            (error as Error).name,
            at,
          );
        }
      }
      if (due.length < BATCH) return handled;
    }
  };

  return {
    /**
     * Queues the opening for every member that must enforce it (as the index now says) and sends it
     * to each pair still pending at once; what the members answered is returned.
     */
    async enqueue(opening: ConsentOpening): Promise<OpeningDelivery[]> {
      const recipients = await openingRecipients(index, opening, options.self);
      const at = now();
      for (const r of recipients) await store.enqueue(opening.grantId, r.address, at);
      const results: OpeningDelivery[] = [];
      for (const r of recipients) {
        const pair = await store.claim(opening.grantId, r.address, at, at + claimMs);
        if (pair !== undefined) results.push(await attempt(pair));
        // Not claimed: delivered already, or pending (another process is sending it, or its retry is due later).
        else if ((await store.get(opening.grantId, r.address)) === undefined)
          results.push({ member: r.address, delivered: true });
        else results.push({ member: r.address, delivered: false, error: 'pending' });
      }
      for (const d of results.filter((x) => !x.delivered)) {
        log(`consent opening ${opening.grantId} not yet delivered to ${d.member}: ${d.error}; queued`);
      }
      return results;
    },

    /**
     * Sends every pair whose retry is due and that this process claimed; one pump at a time. Returns
     * how many pairs it handled.
     */
    pump(): Promise<number> {
      if (pumping === undefined) {
        pumping = runDue().finally(() => {
          pumping = undefined;
        });
      }
      return pumping;
    },

    status(): Promise<OpeningDeliveryCounts> {
      return store.counts();
    },

    start(intervalMs: number): void {
      if (timer !== undefined) return;
      timer = setInterval(() => {
        this.pump().catch((error: unknown) =>
          log(`consent opening delivery pump failed: ${(error as Error).name}`),
        );
      }, intervalMs);
      timer.unref();
    },

    async stop(): Promise<void> {
      if (timer !== undefined) clearInterval(timer);
      timer = undefined;
      await pumping;
    },
  };
}

export type OpeningDeliveryQueue = ReturnType<typeof createOpeningDeliveryQueue>;
