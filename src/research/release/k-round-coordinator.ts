/**
 * The coordinator's side of a k round (k-round.ts, decision 0041): it collects every data member's
 * entries under the round's id, decides once all have sent theirs, and answers each with its own
 * links to leave out. Which members must send is not the researcher's choice: it is every active
 * data-holding member of the consortium (from the chain index), so a researcher cannot split a study
 * into rounds of one member each. A member's request is held until the round is decided or `holdMs`
 * passes (then `waiting`, and it asks again): a long poll, so no member sleeps between asks.
 *
 * Rounds are kept in the member's database (k-round-store.ts, decision 0050): a coordinator that
 * restarts mid-round completes it with the entries sent before, and the hosts of a member on
 * PostgreSQL share them (a request held at one host that another decides is answered when its hold
 * ends and it reads the round again). A round is forgotten `ttlMs` after it began. Nothing a round
 * holds identifies a patient outside the members holding the research secret.
 */
import { createHash } from 'node:crypto';
import type { Address, Hex } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import { decideKRound, type KRoundDecision, type KRoundEntry } from './k-round.js';
import { type KRoundStorage, MemoryKRoundStorage, type StoredKRound } from './k-round-store.js';

export type KRoundAnswer =
  | { readonly state: 'decided'; readonly decision: KRoundDecision; readonly members: readonly Address[] }
  | { readonly state: 'waiting'; readonly missing: number };

export interface KRoundCoordinatorDeps {
  /** Every active member that holds patient data, lowest address first (this one included). */
  readonly dataMembers: () => Promise<readonly Address[]>;
  /** The study's k (from the node's research index). */
  readonly studyK: (studyId: Hex) => Promise<number | undefined>;
  /** Default: process memory (a restart loses the rounds). */
  readonly storage?: KRoundStorage;
  readonly now?: () => number;
  readonly holdMs?: number;
  readonly ttlMs?: number;
}

const lower = (a: string) => a.toLowerCase();
const digestOf = (json: string) => createHash('sha256').update(json).digest('hex');

export class KRoundCoordinator {
  /** Requests held in this process, per round, woken when this process decides it. */
  private readonly waiters = new Map<string, { readonly decided: Promise<void>; resolve(): void }>();
  private readonly storage: KRoundStorage;
  private readonly now: () => number;

  constructor(private readonly deps: KRoundCoordinatorDeps) {
    this.storage = deps.storage ?? new MemoryKRoundStorage();
    this.now = deps.now ?? Date.now;
  }

  /** A member's entries for a round (sent again while waiting: the same entries, or refused). */
  async submit(
    roundId: string,
    studyId: Hex,
    member: Address,
    entries: readonly KRoundEntry[],
  ): Promise<KRoundAnswer> {
    await this.storage.deleteRoundsBefore(this.now() - (this.deps.ttlMs ?? 30 * 60_000));
    const round = (await this.storage.getRound(roundId)) ?? (await this.begin(roundId, studyId));
    if (lower(round.studyId) !== lower(studyId))
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'this round releases another study', {
        details: { reason: 'round-study-mismatch' },
      });
    const as = round.members.find((m) => lower(m) === lower(member));
    if (as === undefined)
      throw new CareLedgerError('ERR_FORBIDDEN', 'only members holding data take part in a k round', {
        details: { reason: 'not-a-data-member' },
      });
    const json = JSON.stringify(entries);
    const digest = digestOf(json);
    const earlier = (await this.storage.listEntries(roundId)).find((e) => e.member === as);
    if (earlier === undefined && round.decisions !== undefined)
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'the round was decided without this member', {
        details: { reason: 'round-decided' },
      });
    const stored = earlier?.digest ?? (await this.storage.putEntries(roundId, as, digest, json));
    if (stored !== digest)
      throw new CareLedgerError(
        'ERR_PRECONDITION_FAILED',
        'this member already sent other entries for the round',
        {
          details: { reason: 'round-entries-changed' },
        },
      );
    const decided = round.decisions ?? (await this.decideIfComplete(round)) ?? (await this.hold(roundId));
    if (decided === undefined) {
      const sent = (await this.storage.listEntries(roundId)).length;
      return { state: 'waiting', missing: round.members.length - sent };
    }
    const decision = (JSON.parse(decided) as Record<string, KRoundDecision>)[as];
    if (decision === undefined)
      throw new CareLedgerError('ERR_INTERNAL', 'the round was decided without this member');
    return { state: 'decided', decision, members: round.members };
  }

  private async begin(roundId: string, studyId: Hex): Promise<StoredKRound> {
    const [members, k] = await Promise.all([this.deps.dataMembers(), this.deps.studyK(studyId)]);
    if (k === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'no such study');
    // Two members beginning the same round at once: the first one in wins.
    return this.storage.beginRound({ roundId, studyId, k, members, began: this.now() });
  }

  /** Decides the round once every member has sent its entries; the decisions, or undefined. */
  private async decideIfComplete(round: StoredKRound): Promise<string | undefined> {
    const sent = await this.storage.listEntries(round.roundId);
    if (sent.length < round.members.length) return undefined;
    const submissions = new Map<Address, readonly KRoundEntry[]>();
    for (const { member, entries } of sent) {
      // Dropped: another request (or host) decided the round meanwhile.
      if (entries === undefined) return (await this.storage.getRound(round.roundId))?.decisions;
      submissions.set(member, JSON.parse(entries) as KRoundEntry[]);
    }
    const decisions = Object.fromEntries(decideKRound(submissions, round.k));
    const stored = await this.storage.decideRound(round.roundId, JSON.stringify(decisions));
    this.waiters.get(round.roundId)?.resolve();
    this.waiters.delete(round.roundId);
    return stored;
  }

  /** Waits for the decision, at most `holdMs`; then reads the round again (another host may have decided it). */
  private async hold(roundId: string): Promise<string | undefined> {
    let waiter = this.waiters.get(roundId);
    if (waiter === undefined) {
      let resolve: () => void = () => undefined;
      const decided = new Promise<void>((r) => {
        resolve = r;
      });
      waiter = { decided, resolve };
      this.waiters.set(roundId, waiter);
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      waiter.decided,
      new Promise<void>((r) => {
        timer = setTimeout(r, this.deps.holdMs ?? 20_000);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
    return (await this.storage.getRound(roundId))?.decisions;
  }
}

/** The coordinator of a round among these members: the lowest address, so every member names the same one. */
export function coordinatorOf(members: readonly Address[]): Address {
  const sorted = [...members].sort((a, b) => (lower(a) < lower(b) ? -1 : lower(a) > lower(b) ? 1 : 0));
  const first = sorted[0];
  if (first === undefined)
    throw new CareLedgerError('ERR_CONFIG', 'the consortium has no member holding data');
  return first;
}
