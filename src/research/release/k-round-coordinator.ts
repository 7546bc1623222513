/**
 * The coordinator's side of a k round (k-round.ts, decision 0041): it collects every data member's
 * entries under the round's id, decides once all have sent theirs, and answers each with its own
 * links to leave out. Which members must send is not the researcher's choice: it is every active
 * data-holding member of the consortium (from the chain index), so a researcher cannot split a study
 * into rounds of one member each. A member's request is held until the round is decided or `holdMs`
 * passes (then `waiting`, and it asks again): a long poll, so no member sleeps between asks.
 *
 * Rounds live in this process's memory and are forgotten `ttlMs` after they began: a coordinator that
 * restarts mid-round makes every member's release of that round fail, and the researcher starts a new
 * round. Nothing a round holds identifies a patient outside the members holding the research secret.
 */
import type { Address, Hex } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import { decideKRound, type KRoundDecision, type KRoundEntry } from './k-round.js';

export type KRoundAnswer =
  | { readonly state: 'decided'; readonly decision: KRoundDecision; readonly members: readonly Address[] }
  | { readonly state: 'waiting'; readonly missing: number };

export interface KRoundCoordinatorDeps {
  /** Every active member that holds patient data, lowest address first (this one included). */
  readonly dataMembers: () => Promise<readonly Address[]>;
  /** The study's k (from the node's research index). */
  readonly studyK: (studyId: Hex) => Promise<number | undefined>;
  readonly now?: () => number;
  readonly holdMs?: number;
  readonly ttlMs?: number;
}

interface Round {
  readonly studyId: Hex;
  readonly k: number;
  readonly members: readonly Address[];
  readonly began: number;
  readonly submissions: Map<Address, readonly KRoundEntry[]>;
  decisions?: Map<Address, KRoundDecision>;
  readonly decided: Promise<void>;
  resolve(): void;
}

const lower = (a: string) => a.toLowerCase();

export class KRoundCoordinator {
  private readonly rounds = new Map<string, Round>();
  private readonly now: () => number;

  constructor(private readonly deps: KRoundCoordinatorDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** A member's entries for a round (sent again while waiting: the same entries, or refused). */
  async submit(
    roundId: string,
    studyId: Hex,
    member: Address,
    entries: readonly KRoundEntry[],
  ): Promise<KRoundAnswer> {
    this.forgetOld();
    const round = this.rounds.get(roundId) ?? (await this.begin(roundId, studyId));
    if (lower(round.studyId) !== lower(studyId))
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'this round releases another study', {
        details: { reason: 'round-study-mismatch' },
      });
    const as = round.members.find((m) => lower(m) === lower(member));
    if (as === undefined)
      throw new CareLedgerError('ERR_FORBIDDEN', 'only members holding data take part in a k round', {
        details: { reason: 'not-a-data-member' },
      });
    const earlier = round.submissions.get(as);
    if (earlier !== undefined && JSON.stringify(earlier) !== JSON.stringify(entries))
      throw new CareLedgerError(
        'ERR_PRECONDITION_FAILED',
        'this member already sent other entries for the round',
        {
          details: { reason: 'round-entries-changed' },
        },
      );
    if (earlier === undefined && round.decisions !== undefined)
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'the round was decided without this member', {
        details: { reason: 'round-decided' },
      });
    round.submissions.set(as, entries);
    if (round.decisions === undefined && round.submissions.size === round.members.length) {
      round.decisions = decideKRound(round.submissions, round.k);
      round.resolve();
    }
    await this.hold(round);
    const decision = round.decisions?.get(as);
    return decision === undefined
      ? { state: 'waiting', missing: round.members.length - round.submissions.size }
      : { state: 'decided', decision, members: round.members };
  }

  private async begin(roundId: string, studyId: Hex): Promise<Round> {
    const [members, k] = await Promise.all([this.deps.dataMembers(), this.deps.studyK(studyId)]);
    if (k === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'no such study');
    // Two members beginning the same round at once: the first one in wins.
    const raced = this.rounds.get(roundId);
    if (raced !== undefined) return raced;
    let resolve: () => void = () => undefined;
    const decided = new Promise<void>((r) => {
      resolve = r;
    });
    const round: Round = { studyId, k, members, began: this.now(), submissions: new Map(), decided, resolve };
    this.rounds.set(roundId, round);
    return round;
  }

  /** Waits for the decision, at most `holdMs`. */
  private async hold(round: Round): Promise<void> {
    if (round.decisions !== undefined) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      round.decided,
      new Promise<void>((r) => {
        timer = setTimeout(r, this.deps.holdMs ?? 20_000);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  private forgetOld(): void {
    const ttl = this.deps.ttlMs ?? 30 * 60_000;
    for (const [id, round] of this.rounds) if (this.now() - round.began > ttl) this.rounds.delete(id);
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
