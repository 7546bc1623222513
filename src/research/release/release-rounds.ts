/**
 * A study release started at the research member (issue 18 item 6, decision 0041): one round across
 * every active member holding data. The research member's node kicks off the study's `$export` at each
 * of them with the round's id (so their k is decided over the union, k-round.ts), with a SMART Backend
 * Services token signed by its own ledger key, then follows each status URL when asked, keeps each
 * sealed manifest, and relays the files to its staff. It never sees a class below k: the coordinator
 * is a data member, and the files it relays are the released ones.
 *
 * Rounds are kept in this process's memory (a restart forgets them; the members' releases go on and
 * are anchored, and `careledger research verify` checks a download).
 */
import { randomUUID } from 'node:crypto';
import type { Address, Hex } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import type { Study } from '../study.js';
import type { DataMember } from './k-round-client.js';
import {
  fileNameOf,
  hashReleaseManifest,
  parseReleaseManifest,
  type ReleaseManifest,
} from './release-manifest.js';

export interface RoundMember {
  readonly address: Address;
  readonly name: string;
  state: 'running' | 'done' | 'failed';
  progress?: string;
  /** The member's status URL (its own base URL). */
  statusUrl?: string;
  manifest?: ReleaseManifest;
  manifestHash?: Hex;
  /** The member's reason (its OperationOutcome's diagnostics, no PHI). */
  error?: string;
}

export interface ReleaseRound {
  readonly id: string;
  readonly studyId: Hex;
  readonly startedAt: string;
  readonly members: RoundMember[];
}

export interface ReleaseRoundsDeps {
  readonly self: Address;
  readonly study: (id: Hex) => Promise<Study | undefined>;
  readonly dataMembers: () => Promise<readonly (DataMember & { readonly name: string })[]>;
  /** A member token for a data member's node (MemberClient.memberToken, purpose HRESCH). */
  readonly token: (member: DataMember) => Promise<string>;
  readonly fetch?: typeof fetch;
  readonly now?: () => Date;
  readonly newId?: () => string;
}

/** The member's reason, from its OperationOutcome; never the body itself. */
async function reasonOf(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { issue?: { diagnostics?: string }[] };
    return body.issue?.[0]?.diagnostics ?? `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}

export class ReleaseRounds {
  private readonly rounds = new Map<string, ReleaseRound>();
  private readonly fetch: typeof fetch;

  constructor(private readonly deps: ReleaseRoundsDeps) {
    this.fetch = deps.fetch ?? fetch;
  }

  private async call(member: DataMember, url: string, init: RequestInit = {}): Promise<Response> {
    const headers = {
      authorization: `Bearer ${await this.deps.token(member)}`,
      ...(init.headers as Record<string, string>),
    };
    try {
      return await this.fetch(url, { ...init, headers });
    } catch (cause) {
      throw new CareLedgerError('ERR_UPSTREAM', `${new URL(url).origin} does not answer`, { cause });
    }
  }

  /** Kicks the release off at every data member under one new round id. */
  async start(studyId: Hex): Promise<ReleaseRound> {
    const study = await this.deps.study(studyId);
    if (study === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'no such study');
    if (study.researcher.toLowerCase() !== this.deps.self.toLowerCase())
      throw new CareLedgerError(
        'ERR_FORBIDDEN',
        "release refused: this member is not the study's researcher",
        {
          details: { reason: 'not-the-researcher' },
        },
      );
    if (study.status !== 'open')
      throw new CareLedgerError(
        'ERR_PRECONDITION_FAILED',
        `release refused: the study is ${study.status}, not open`,
        {
          details: { reason: study.status === 'closed' ? 'study-closed' : 'study-not-open' },
        },
      );
    const members = await this.deps.dataMembers();
    if (members.length === 0)
      throw new CareLedgerError('ERR_CONFIG', 'the consortium has no member holding data');
    const round: ReleaseRound = {
      id: this.deps.newId?.() ?? randomUUID(),
      studyId: study.id,
      startedAt: (this.deps.now?.() ?? new Date()).toISOString(),
      members: members.map((m) => ({
        address: m.address,
        name: m.name,
        state: 'running',
        progress: 'asked',
      })),
    };
    this.rounds.set(round.id, round);
    await Promise.all(
      members.map(async (member, i) => {
        const view = round.members[i] as RoundMember;
        try {
          const response = await this.call(
            member,
            `${member.base}/research/studies/${study.id}/$export?round=${encodeURIComponent(round.id)}`,
            { method: 'POST', headers: { accept: 'application/fhir+json', prefer: 'respond-async' } },
          );
          const location = response.headers.get('content-location');
          if (response.status !== 202 || location === null) {
            Object.assign(view, { state: 'failed', error: await reasonOf(response) });
            return;
          }
          // Only a status URL on the member's own origin is followed (the token is for it).
          view.statusUrl = `${member.base}${new URL(location).pathname}`;
          view.progress = 'accepted';
        } catch (error) {
          Object.assign(view, { state: 'failed', error: (error as Error).message });
        }
      }),
    );
    return round;
  }

  list(): ReleaseRound[] {
    return [...this.rounds.values()];
  }

  /** The round, with each running member's status asked once more. */
  async refresh(roundId: string): Promise<ReleaseRound> {
    const round = this.get(roundId);
    const members = await this.deps.dataMembers();
    await Promise.all(
      round.members
        .filter((m) => m.state === 'running' && m.statusUrl !== undefined)
        .map(async (view) => {
          const member = members.find((m) => m.address === view.address);
          if (member === undefined)
            return Object.assign(view, { state: 'failed', error: 'no longer a member' });
          try {
            const response = await this.call(member, view.statusUrl as string, {
              headers: { accept: 'application/json' },
            });
            if (response.status === 202) view.progress = response.headers.get('x-progress') ?? 'in progress';
            else if (response.status === 200) {
              const manifest = parseReleaseManifest(await response.json());
              Object.assign(view, {
                state: 'done',
                manifest,
                manifestHash: hashReleaseManifest(manifest),
                progress: 'done',
              });
            } else Object.assign(view, { state: 'failed', error: await reasonOf(response) });
          } catch (error) {
            view.progress = `not answering: ${(error as Error).message}`;
          }
        }),
    );
    return round;
  }

  /** A file of a member's finished release, streamed from the member with this member's token. */
  async openFile(roundId: string, member: Address, fileName: string): Promise<ReadableStream<Uint8Array>> {
    const view = this.get(roundId).members.find((m) => m.address.toLowerCase() === member.toLowerCase());
    const entry = [...(view?.manifest?.output ?? []), ...(view?.manifest?.error ?? [])].find(
      (e) => fileNameOf(e) === fileName,
    );
    const target = (await this.deps.dataMembers()).find((m) => m.address === view?.address);
    if (view === undefined || entry === undefined || target === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'no such file in this round');
    const response = await this.call(target, `${target.base}${new URL(entry.url).pathname}`, {
      headers: { accept: 'application/fhir+ndjson' },
    });
    if (response.status !== 200 || response.body === null)
      throw new CareLedgerError('ERR_UPSTREAM', `the member refused the file: ${await reasonOf(response)}`);
    return response.body;
  }

  private get(roundId: string): ReleaseRound {
    const round = this.rounds.get(roundId);
    if (round === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'no such release round here');
    return round;
  }
}
