import { type Address, getAddress, type Hex, type Log, type PublicClient, parseEventLogs } from 'viem';
import { decodeCategories } from '../../ledger/codes.js';
import { researchRegistryAbi } from '../../ledger/contracts.generated.js';
import type { Deployment } from '../../ledger/deployment.js';
import type { Study, StudyStatus } from '../study.js';

/** A release as its ReleaseAnchored event and the CreditMinted events after it tell it. */
export interface IndexedRelease {
  readonly manifestHash: Hex;
  readonly member: Address;
  readonly profileHash: Hex;
  readonly consentBlock: bigint;
  readonly records: number;
  readonly suppressed: number;
  readonly contributors: number;
  readonly blockNumber: number;
  readonly txHash: Hex;
}

/** A study as the node's index folds it from ResearchRegistry's events (no chain read needed). */
export interface IndexedStudy extends Study {
  /** Members that approved, in order. */
  readonly approvedBy: readonly Address[];
  /** Approvals that decide it: every board, or the majority of active members at the latest vote. */
  readonly approvalsNeeded: number | null;
  readonly closeVotes: number;
  readonly closedByVote: boolean;
  readonly releases: readonly IndexedRelease[];
  readonly proposedBlock: number;
  readonly txHash: Hex;
}

type MutableStudy = {
  -readonly [K in keyof IndexedStudy]: IndexedStudy[K] extends readonly (infer T)[] ? T[] : IndexedStudy[K];
};

export interface ResearchIndexOptions {
  readonly client: Pick<PublicClient, 'getBlockNumber' | 'getBlock' | 'getLogs'>;
  readonly deployment: Pick<Deployment, 'contracts' | 'deployBlock'>;
  readonly batchSize?: number;
  readonly onLog?: (line: string) => void;
}

/**
 * ResearchRegistry's events folded in memory: studies with their votes and releases, and each
 * address's credits. Studies are few and a node rebuilds this at start from the deployment block, so
 * no table is kept. `sync` follows the chain (a timer or a write that just mined calls it); a re-org
 * (the last block seen is no longer on the chain) makes it fold again from the start.
 */
export class ResearchIndex {
  private studies = new Map<string, MutableStudy>();
  private credits = new Map<string, bigint>();
  private cursor: { number: number; hash: Hex } | undefined;
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private lastError: string | null = null;
  readonly address: Address;

  constructor(private readonly options: ResearchIndexOptions) {
    const address = options.deployment.contracts.researchRegistry;
    if (address === undefined) throw new Error('no ResearchRegistry in the deployment');
    this.address = address;
  }

  /** Folds every event up to the chain's head; calls made meanwhile run after it. Never throws. */
  sync(): Promise<void> {
    this.queue = this.queue
      .then(() => this.syncToHead())
      .then(
        () => {
          this.lastError = null;
        },
        (error: unknown) => {
          const message = (error as Error).message?.split('\n')[0] ?? 'sync failed';
          if (message !== this.lastError) this.options.onLog?.(`research index: ${message}`);
          this.lastError = message;
        },
      );
    return this.queue;
  }

  start(intervalMs = 1_000): void {
    if (this.timer !== undefined) return;
    let busy = false;
    this.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.sync().finally(() => {
        busy = false;
      });
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.queue;
  }

  /** The newest block folded in, or undefined before the first sync. */
  get block(): number | undefined {
    return this.cursor?.number;
  }

  private async syncToHead(): Promise<void> {
    const { client } = this.options;
    const head = Number(await client.getBlockNumber({ cacheTime: 0 }));
    if (this.cursor !== undefined) {
      // Gone below the head (a chain restored from an older snapshot), or another block at its height
      // (a re-org); a block merely pruned from a compacted history is not found and is kept.
      const still =
        this.cursor.number <= head
          ? await client.getBlock({ blockNumber: BigInt(this.cursor.number) }).catch(() => undefined)
          : undefined;
      if (this.cursor.number > head || (still !== undefined && still.hash !== this.cursor.hash)) {
        this.options.onLog?.(`research index: block ${this.cursor.number} left the chain; folding again`);
        this.studies = new Map();
        this.credits = new Map();
        this.cursor = undefined;
      }
    }
    const batch = this.options.batchSize ?? 5_000;
    for (;;) {
      const from = this.cursor === undefined ? this.options.deployment.deployBlock : this.cursor.number + 1;
      if (from > head) return;
      const to = Math.min(head, from + batch - 1);
      const toBlock = await client.getBlock({ blockNumber: BigInt(to) });
      const logs = await client.getLogs({
        address: this.address,
        fromBlock: BigInt(from),
        toBlock: BigInt(to),
      });
      for (const log of parseEventLogs({ abi: researchRegistryAbi, logs: logs as Log[] })) this.fold(log);
      this.cursor = { number: to, hash: toBlock.hash as Hex };
    }
  }

  private fold(log: ReturnType<typeof parseEventLogs<typeof researchRegistryAbi>>[number]): void {
    const blockNumber = Number(log.blockNumber);
    const txHash = log.transactionHash as Hex;
    switch (log.eventName) {
      case 'StudyProposed': {
        const a = log.args;
        this.studies.set(a.studyId.toLowerCase(), {
          id: a.studyId,
          researcher: getAddress(a.researcher),
          protocolHash: a.protocolHash,
          profileHash: a.profileHash,
          categories: decodeCategories(a.categories),
          resourceTypes: [...a.resourceTypes],
          notBefore: Number(a.notBefore),
          notAfter: Number(a.notAfter),
          k: a.k,
          ethicsBoards: a.ethicsBoards.map((b) => getAddress(b)),
          status: 'proposed',
          approvedBy: [],
          approvalsNeeded: a.ethicsBoards.length > 0 ? a.ethicsBoards.length : null,
          closeVotes: 0,
          closedByVote: false,
          releases: [],
          proposedBlock: blockNumber,
          txHash,
        });
        return;
      }
      case 'StudyApprovalVoted': {
        const study = this.studies.get(log.args.studyId.toLowerCase());
        if (study === undefined) return;
        study.approvedBy.push(getAddress(log.args.voter));
        study.approvalsNeeded = log.args.needed;
        return;
      }
      case 'StudyApproved':
        this.setStatus(log.args.studyId, 'approved');
        return;
      case 'StudyOpened':
        this.setStatus(log.args.studyId, 'open');
        return;
      case 'StudyCloseVoted': {
        const study = this.studies.get(log.args.studyId.toLowerCase());
        if (study !== undefined) study.closeVotes = log.args.votes;
        return;
      }
      case 'StudyClosed': {
        this.setStatus(log.args.studyId, 'closed');
        const study = this.studies.get(log.args.studyId.toLowerCase());
        if (study !== undefined) study.closedByVote = log.args.byVote;
        return;
      }
      case 'ReleaseAnchored': {
        const study = this.studies.get(log.args.studyId.toLowerCase());
        study?.releases.push({
          manifestHash: log.args.manifestHash,
          member: getAddress(log.args.member),
          profileHash: log.args.profileHash,
          consentBlock: log.args.consentBlock,
          records: log.args.records,
          suppressed: log.args.suppressed,
          contributors: 0,
          blockNumber,
          txHash,
        });
        return;
      }
      case 'CreditMinted': {
        const key = log.args.contributor.toLowerCase();
        this.credits.set(key, (this.credits.get(key) ?? 0n) + 1n);
        const study = this.studies.get(log.args.studyId.toLowerCase());
        const releases = study?.releases;
        const at = releases?.findIndex(
          (r) => r.manifestHash.toLowerCase() === log.args.manifestHash.toLowerCase(),
        );
        if (releases !== undefined && at !== undefined && at >= 0) {
          const release = releases[at] as IndexedRelease;
          releases[at] = { ...release, contributors: release.contributors + 1 };
        }
        return;
      }
    }
  }

  private setStatus(studyId: Hex, status: StudyStatus): void {
    const study = this.studies.get(studyId.toLowerCase());
    if (study !== undefined) study.status = status;
  }

  study(studyId: Hex): IndexedStudy | undefined {
    return this.studies.get(studyId.toLowerCase());
  }

  /** Every study, oldest proposal first. */
  list(filter: { status?: StudyStatus } = {}): IndexedStudy[] {
    return [...this.studies.values()].filter(
      (s) => filter.status === undefined || s.status === filter.status,
    );
  }

  /** Credits minted to an address (a per-study credit address, decision 0024). */
  creditsOf(address: Address): bigint {
    return this.credits.get(address.toLowerCase()) ?? 0n;
  }

  status(): { block: number | null; studies: number; lastError: string | null } {
    return { block: this.cursor?.number ?? null, studies: this.studies.size, lastError: this.lastError };
  }
}
