import { isCareLedgerError } from '../../errors/index.js';
import type { PostgresDatabase } from '../../storage/postgres/postgres-database.js';
import {
  type PendingGroup,
  prunePendingGroups,
  readOpenPendingGroups,
  settlePendingFailure,
  settlePendingWrite,
} from '../../storage/postgres/postgres-pending-entries.js';
import {
  isSequencerFenced,
  type PostgresSequencerLease,
} from '../../storage/postgres/postgres-sequencer-lease.js';
import { serializeError } from './messages.js';
import { type SequencerLog, SequencerServer } from './sequencer-server.js';

/** What the member's log is for one leadership term: appends through storage fenced by its epoch. */
export interface LeaderTerm {
  readonly log: SequencerLog;
  stop(): Promise<void>;
}

export interface DatabaseSequencerOptions {
  readonly lease: PostgresSequencerLease;
  /** The leader's own connections (reads of the queue, refusals). */
  readonly db: PostgresDatabase;
  /** Opens the log (checkpointing, witnesses, anchoring) over storage fenced by `epoch`. */
  readonly openTerm: (epoch: number) => Promise<LeaderTerm>;
  /** The stored current version of a resource (0 when none), for the version fence. */
  readonly currentVersion: (resourceType: string, id: string) => Promise<number>;
  readonly log: (line: string) => void;
  /** Most groups integrated in one round, hence in one log batch (default 512). */
  readonly batchSize?: number;
  readonly now?: () => number;
}

export type SequencerRole = 'leader' | 'follower';

/** The lease this process holds: its epoch and when it was last renewed (by this process's clock). */
interface Held {
  readonly epoch: number;
  renewedAt: number;
}

interface Term {
  readonly epoch: number;
  readonly opened: LeaderTerm;
  readonly server: SequencerServer;
  /** Set after a failed batch: the next round integrates groups one at a time, to find the bad one. */
  isolate: boolean;
}

function reasonOf(error: unknown): unknown {
  return isCareLedgerError(error) ? (error.details as { reason?: unknown }).reason : undefined;
}

/**
 * The member's log sequencer elected through its database (decision 0022). Every process runs one:
 * `tick()` (every third of the lease) renews the lease while leading, else tries to take it; the
 * leader opens the log over storage fenced by its epoch, and `wake()` (a LISTEN notification, or the
 * poll) integrates open groups from `log_pending` in batches: each group goes through the version
 * fence and the log's group commit, and the append's transaction marks it sequenced. A leader whose
 * write or renewal is refused by the fence steps down at once; what it had not committed stays
 * pending for the next leader.
 */
export class DatabaseSequencer {
  readonly #options: DatabaseSequencerOptions;
  readonly #now: () => number;
  #held: Held | undefined;
  #term: Term | undefined;
  #ticking: Promise<void> | undefined;
  #opening: Promise<void> | undefined;
  #integrating: Promise<void> | undefined;
  #again = false;
  #stopped = false;
  #lastPrune = 0;

  constructor(options: DatabaseSequencerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get role(): SequencerRole {
    return this.#term === undefined ? 'follower' : 'leader';
  }

  /** The epoch this process leads with, or undefined. */
  get epoch(): number | undefined {
    return this.#term?.epoch;
  }

  /**
   * One election step: renew the lease while holding it, else try to take it. Steps never overlap; the
   * promise also waits for a term being opened, which renewals do not wait for (opening audits the log
   * and asks the witnesses, which may take longer than the lease).
   */
  tick(): Promise<void> {
    this.#ticking ??= this.#tickNow().finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking.then(() => this.#opening);
  }

  async #tickNow(): Promise<void> {
    if (this.#stopped) return;
    const { lease } = this.#options;
    const held = this.#held;
    if (held !== undefined) {
      let renewed: boolean | undefined;
      try {
        renewed = await lease.renew(held.epoch);
      } catch {
        renewed = undefined;
      }
      if (renewed === true) {
        held.renewedAt = this.#now();
        await this.#prune();
      } else if (renewed === false) {
        await this.#lose(held, 'fenced: another process took the lease');
      } else if (this.#now() - held.renewedAt > lease.leaseMs) {
        // Cannot reach the database to renew: by now another process may lead; stop acting as leader.
        await this.#lose(held, 'the lease could not be renewed');
      }
      return;
    }
    const epoch = await lease.tryAcquire().catch((error: unknown) => {
      this.#options.log(`sequencer: could not ask for the lease: ${(error as Error).message}`);
      return undefined;
    });
    if (epoch === undefined) return;
    const taken = { epoch, renewedAt: this.#now() };
    this.#held = taken;
    this.#opening = this.#open(taken).finally(() => {
      this.#opening = undefined;
    });
  }

  async #open(held: Held): Promise<void> {
    const { lease } = this.#options;
    let opened: LeaderTerm;
    try {
      opened = await this.#options.openTerm(held.epoch);
    } catch (error) {
      this.#options.log(
        `sequencer: could not open the log as epoch ${held.epoch}: ${(error as Error).message}`,
      );
      if (this.#held === held) this.#held = undefined;
      await lease.release(held.epoch).catch(() => undefined);
      return;
    }
    if (this.#held !== held || this.#stopped) {
      // Lost while opening (or stopping): nothing was sequenced under it.
      await opened.stop().catch(() => undefined);
      if (this.#stopped) await lease.release(held.epoch).catch(() => undefined);
      return;
    }
    const server = new SequencerServer({
      log: opened.log,
      currentVersion: this.#options.currentVersion,
      workers: () => [],
    });
    this.#term = { epoch: held.epoch, opened, server, isolate: false };
    this.#options.log(`sequencer: this process sequences the log (epoch ${held.epoch}, ${lease.holder})`);
    this.wake();
  }

  async #lose(held: Held, why: string): Promise<void> {
    if (this.#held === held) this.#held = undefined;
    const term = this.#term;
    if (term !== undefined && term.epoch === held.epoch) await this.#stepDown(term, why);
    else this.#options.log(`sequencer: lost the lease of epoch ${held.epoch} while opening the log (${why})`);
  }

  async #stepDown(term: Term, why: string): Promise<void> {
    if (this.#held?.epoch === term.epoch) this.#held = undefined;
    if (this.#term !== term) return;
    this.#term = undefined;
    this.#options.log(`sequencer: stepping down from epoch ${term.epoch} (${why})`);
    await term.opened.stop().catch(() => undefined);
  }

  /** Integrates open groups now (a writer notified, or the poll). Rounds never overlap. */
  wake(): void {
    if (this.#term === undefined || this.#stopped) return;
    if (this.#integrating !== undefined) {
      this.#again = true;
      return;
    }
    this.#integrating = (async () => {
      try {
        for (;;) {
          this.#again = false;
          const handled = await this.integrate();
          if ((handled === 0 && !this.#again) || this.#term === undefined) break;
        }
      } catch (error) {
        this.#options.log(`sequencer: integration failed: ${(error as Error).message}`);
      } finally {
        this.#integrating = undefined;
      }
    })();
  }

  /** One round: integrates up to `batchSize` open groups; returns how many it settled or tried. */
  async integrate(): Promise<number> {
    const term = this.#term;
    if (term === undefined) return 0;
    const limit = term.isolate ? 1 : (this.#options.batchSize ?? 512);
    const groups = await readOpenPendingGroups(this.#options.db, limit);
    if (groups.length === 0) {
      term.isolate = false;
      return 0;
    }
    const results = await Promise.allSettled(groups.map((group) => this.#sequence(term, group)));
    let batchFailed = false;
    for (const [i, result] of results.entries()) {
      if (result.status === 'fulfilled') continue;
      const error: unknown = result.reason;
      if (isSequencerFenced(error)) {
        await this.#stepDown(term, 'fenced: a write was refused, another process took the lease');
        return groups.length;
      }
      const reason = reasonOf(error);
      if (reason === 'storage-state-unknown' || reason === 'closed') {
        await this.#reopen(term);
        return groups.length;
      }
      // Refused before it reached a batch (a version conflict), or alone in its batch: its own fault.
      if (reason !== 'storage-write' || term.isolate) {
        if (reasonOf((error as { cause?: unknown }).cause) === 'unavailable') return groups.length;
        await this.#refuse(term, groups[i] as PendingGroup, error);
      } else batchFailed = true;
    }
    // A batch rolled back for all: integrate one group at a time until the culprit is found.
    term.isolate = batchFailed;
    return groups.length;
  }

  #sequence(term: Term, group: PendingGroup): Promise<unknown> {
    return term.server.sequence(group.entries, [
      ...group.withinCommit,
      settlePendingWrite(group.id, term.epoch),
    ]);
  }

  async #refuse(term: Term, group: PendingGroup, error: unknown): Promise<void> {
    try {
      await this.#options.db.transaction(async (tx) => {
        await this.#options.lease.check(tx, term.epoch);
        await settlePendingFailure(tx, group.id, term.epoch, { ...serializeError(error) });
      });
    } catch (refusal) {
      if (isSequencerFenced(refusal)) await this.#stepDown(term, 'fenced while refusing a group');
    }
  }

  /**
   * The log's state is unknown after a failed write: end the term and let the lease go, so the next
   * election (this process or another) opens the log afresh over storage under a new epoch.
   */
  async #reopen(term: Term): Promise<void> {
    await this.#stepDown(term, 'log storage state unknown; reopening');
    await this.#options.lease.release(term.epoch).catch(() => undefined);
  }

  async #prune(): Promise<void> {
    const now = this.#now();
    if (now - this.#lastPrune < 60_000) return;
    this.#lastPrune = now;
    // Settled groups whose writer never read them (it died): kept ten minutes for late readers.
    await prunePendingGroups(this.#options.db, now - 600_000).catch(() => undefined);
  }

  /** Ends the term (the log flushes what it holds) and lets the lease go, so another process leads at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#ticking;
    await this.#opening;
    await this.#integrating;
    const held = this.#held;
    const term = this.#term;
    if (term !== undefined) await this.#stepDown(term, 'stopping');
    if (held !== undefined) await this.#options.lease.release(held.epoch).catch(() => undefined);
  }
}
