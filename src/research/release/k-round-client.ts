/**
 * A data member's side of a k round (k-round.ts, decision 0041): which members hold data, which of
 * them coordinates, and sending this member's entries there (to its own coordinator in process, or to
 * another member's `POST /research/k-rounds/{round}` with a SMART Backend Services token signed by
 * this member's ledger key) until the round is decided.
 */
import type { Address, Hex } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import { MEMBER_ROLES } from '../../ledger/codes.js';
import type { KRoundDecision, KRoundEntry } from './k-round.js';
import { coordinatorOf, type KRoundAnswer, type KRoundCoordinator } from './k-round-coordinator.js';

/** The member roles that hold patients' records, and so take part in every k round. */
export const DATA_HOLDING_ROLES: readonly number[] = [
  MEMBER_ROLES.provider,
  MEMBER_ROLES.lab,
  MEMBER_ROLES.pharmacy,
  MEMBER_ROLES.payer,
];

export interface DataMember {
  readonly address: Address;
  /** The node's base URL (no /fhir). */
  readonly base: string;
}

/** A round's outcome for this member. */
export interface KRoundResult {
  readonly decision: KRoundDecision;
  readonly coordinator: Address;
  readonly members: readonly Address[];
}

export interface KRoundPort {
  /** Every active member that holds patient data (this one included). */
  dataMembers(): Promise<readonly DataMember[]>;
  /**
   * Sends this member's entries for the round and waits for the decision; `signal` ends the wait (the
   * export job is stopped or deleted: the node stops, and must not wait out the round's deadline).
   */
  decide(
    roundId: string,
    studyId: Hex,
    entries: readonly KRoundEntry[],
    signal?: AbortSignal,
  ): Promise<KRoundResult>;
}

export interface KRoundPortDeps {
  readonly self: Address;
  readonly coordinator: KRoundCoordinator;
  readonly dataMembers: () => Promise<readonly DataMember[]>;
  /** A member token for another member's node (MemberClient.memberToken, purpose HRESCH). */
  readonly token: (member: DataMember) => Promise<string>;
  readonly fetch?: typeof fetch;
  /** How long a member keeps asking before its release fails (default 15 minutes). */
  readonly deadlineMs?: number;
  readonly now?: () => number;
  /**
   * Waits before asking again a coordinator that did not answer (restarting: its rounds are in its
   * database, decision 0050). Default: 2 seconds.
   */
  readonly wait?: () => Promise<void>;
}

/** The coordinator could not be reached, or answered that it cannot serve now: ask again. */
const unavailable = (message: string, cause?: unknown) =>
  new CareLedgerError('ERR_UPSTREAM', message, {
    ...(cause === undefined ? {} : { cause }),
    details: { reason: 'coordinator-unavailable' },
  });
const isUnavailable = (error: unknown) =>
  error instanceof CareLedgerError && error.details.reason === 'coordinator-unavailable';

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** `promise`, or the signal's reason as soon as it is aborted. */
export function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

export function createKRoundPort(deps: KRoundPortDeps): KRoundPort {
  const now = deps.now ?? Date.now;
  const doFetch = deps.fetch ?? fetch;
  const wait =
    deps.wait ??
    (() =>
      new Promise<void>((resolve) => {
        setTimeout(resolve, 2_000).unref();
      }));
  const ask = async (
    coordinator: DataMember,
    roundId: string,
    studyId: Hex,
    entries: readonly KRoundEntry[],
    signal: AbortSignal | undefined,
  ) => {
    if (same(coordinator.address, deps.self))
      return untilAborted(deps.coordinator.submit(roundId, studyId, deps.self, entries), signal);
    let response: Response;
    try {
      response = await doFetch(`${coordinator.base}/research/k-rounds/${encodeURIComponent(roundId)}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${await deps.token(coordinator)}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ studyId, entries }),
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (cause) {
      if (signal?.aborted) throw signal.reason;
      throw unavailable('the k round’s coordinator does not answer', cause);
    }
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    if (response.status === 502 || response.status === 503 || response.status === 504)
      throw unavailable(`the k round’s coordinator answered HTTP ${response.status}`);
    if (response.status === 202) return { state: 'waiting', missing: Number(body.missing) } as KRoundAnswer;
    if (response.status !== 200) {
      const reason = (body as { issue?: { diagnostics?: string }[] }).issue?.[0]?.diagnostics;
      throw new CareLedgerError(
        'ERR_UPSTREAM',
        `the k round’s coordinator refused: ${reason ?? `HTTP ${response.status}`}`,
      );
    }
    return { state: 'decided', decision: body.decision, members: body.members } as KRoundAnswer;
  };
  return {
    dataMembers: deps.dataMembers,
    async decide(roundId, studyId, entries, signal) {
      const members = await deps.dataMembers();
      const address = coordinatorOf(members.map((m) => m.address));
      const coordinator = members.find((m) => m.address === address) as DataMember;
      const deadline = now() + (deps.deadlineMs ?? 15 * 60_000);
      for (;;) {
        signal?.throwIfAborted();
        let answer: KRoundAnswer;
        try {
          answer = await ask(coordinator, roundId, studyId, entries, signal);
        } catch (error) {
          // A coordinator restarting mid-round still holds the round (decision 0050): ask it again.
          if (!isUnavailable(error) || now() > deadline) throw error;
          await untilAborted(wait(), signal);
          continue;
        }
        if (answer.state === 'decided') {
          return { decision: answer.decision, coordinator: address, members: answer.members };
        }
        if (now() > deadline)
          throw new CareLedgerError(
            'ERR_UPSTREAM',
            `the k round across members did not complete: ${answer.missing} member(s) did not take part`,
          );
      }
    },
  };
}
