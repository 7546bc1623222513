import { type Address, encodeFunctionData, getAddress, type Hex, type PublicClient } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import { decodeCategories, encodeCategories } from '../../ledger/codes.js';
import { researchRegistryAbi } from '../../ledger/contracts.generated.js';
import type { Deployment } from '../../ledger/deployment.js';
import type { ReleaseAnchor, Study, StudyStatus } from '../study.js';

/** ResearchRegistry.Status in order; index 0 ("none") means the study does not exist. */
export const STUDY_STATUSES = ['none', 'proposed', 'approved', 'open', 'closed'] as const;

/**
 * Contributors per transaction: each credit is one new storage slot and one event (about 25,000 gas),
 * so 200 stay near 5 M gas, far below any block gas limit a consortium would set.
 */
export const CONTRIBUTORS_PER_TRANSACTION = 200;

/** What proposing a study takes; `id` and the hashes are 32-byte hex. */
export interface StudyProposal {
  readonly id: Hex;
  readonly protocolHash: Hex;
  readonly profileHash: Hex;
  readonly categories: Study['categories'];
  readonly resourceTypes: readonly string[];
  readonly notBefore: number;
  readonly notAfter: number;
  readonly k: number;
  readonly ethicsBoards: readonly Address[];
}

/** A release as ResearchRegistry holds it. */
export interface AnchoredRelease {
  readonly member: Address;
  readonly profileHash: Hex;
  readonly consentBlock: bigint;
  readonly records: number;
  readonly suppressed: number;
  readonly contributors: number;
  readonly anchoredAt: number;
}

/** The node's durable outbox (simulates, signs, re-sends) or anything with its two methods. */
export interface ResearchTransactionSender {
  submit(request: { readonly label: string; readonly to: Address; readonly data: Hex }): Promise<{
    readonly id: number;
  }>;
  waitForConfirmation(
    id: number,
    timeoutMs?: number,
  ): Promise<{ readonly receiptStatus: string | null; readonly blockNumber: number | null }>;
}

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/** A 32-byte value as the contract takes it, or ERR_INVALID_INPUT naming the field. */
export function parseBytes32(value: unknown, field: string): Hex {
  if (typeof value !== 'string' || !BYTES32.test(value) || /^0x0{64}$/.test(value)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${field} must be 32 bytes of hex (0x…), not zero`, {
      details: { field },
    });
  }
  return value.toLowerCase() as Hex;
}

/**
 * Typed writes and reads of ResearchRegistry (contracts/ResearchRegistry.sol). Writes go through the
 * node's outbox, which simulates first, so a refusal (a study not open, outside its period, a wrong
 * profile) comes back as the contract's named error before anything is signed; reads go to the chain
 * (the node's ResearchIndex answers the routes without a round trip).
 */
export class ResearchLedger {
  readonly address: Address;

  constructor(
    deployment: Pick<Deployment, 'contracts'>,
    private readonly sender: ResearchTransactionSender | undefined,
    private readonly client: Pick<PublicClient, 'readContract'>,
  ) {
    const address = deployment.contracts.researchRegistry;
    if (address === undefined) {
      throw new CareLedgerError(
        'ERR_CONFIG',
        'the deployment record names no ResearchRegistry contract (deployed before research existed)',
      );
    }
    this.address = address;
  }

  /** Submits and waits until mined; a mined revert is an error. Returns the block it landed in. */
  private async send(label: string, data: Hex): Promise<{ outboxId: number; blockNumber: number | null }> {
    if (this.sender === undefined)
      throw new CareLedgerError('ERR_CONFIG', 'this research ledger handle is read-only');
    const entry = await this.sender.submit({ label, to: this.address, data });
    const done = await this.sender.waitForConfirmation(entry.id, 60_000);
    if (done.receiptStatus !== 'success')
      throw new CareLedgerError('ERR_CHAIN_REVERTED', `${label} was mined but reverted`);
    return { outboxId: entry.id, blockNumber: done.blockNumber };
  }

  propose(proposal: StudyProposal) {
    return this.send(
      'research proposeStudy',
      encodeFunctionData({
        abi: researchRegistryAbi,
        functionName: 'proposeStudy',
        args: [
          parseBytes32(proposal.id, 'id'),
          parseBytes32(proposal.protocolHash, 'protocolHash'),
          parseBytes32(proposal.profileHash, 'profileHash'),
          encodeCategories(proposal.categories),
          [...proposal.resourceTypes],
          BigInt(proposal.notBefore),
          BigInt(proposal.notAfter),
          proposal.k,
          [...proposal.ethicsBoards],
        ],
      }),
    );
  }

  /** Approves a proposed study (an ethics board it names, or any other active member). */
  vote(studyId: Hex) {
    return this.send(
      'research approveStudy',
      encodeFunctionData({
        abi: researchRegistryAbi,
        functionName: 'approveStudy',
        args: [parseBytes32(studyId, 'studyId')],
      }),
    );
  }

  open(studyId: Hex) {
    return this.send(
      'research openStudy',
      encodeFunctionData({
        abi: researchRegistryAbi,
        functionName: 'openStudy',
        args: [parseBytes32(studyId, 'studyId')],
      }),
    );
  }

  /** The researcher closes its study; any other member casts a vote to close it. */
  close(studyId: Hex, as: 'researcher' | 'vote') {
    return this.send(
      as === 'researcher' ? 'research closeStudy' : 'research voteCloseStudy',
      encodeFunctionData({
        abi: researchRegistryAbi,
        functionName: as === 'researcher' ? 'closeStudy' : 'voteCloseStudy',
        args: [parseBytes32(studyId, 'studyId')],
      }),
    );
  }

  /**
   * Anchors a release and credits its contributors: the first {@link CONTRIBUTORS_PER_TRANSACTION}
   * with the anchor, the rest in further transactions of the same member, each mined before the next.
   * Duplicate contributors are credited once.
   */
  async anchorRelease(anchor: ReleaseAnchor): Promise<{ transactions: number; blockNumber: number | null }> {
    const contributors = [...new Set(anchor.contributors.map((a) => getAddress(a)))];
    const first = contributors.slice(0, CONTRIBUTORS_PER_TRANSACTION);
    const studyId = parseBytes32(anchor.studyId, 'studyId');
    const manifestHash = parseBytes32(anchor.manifestHash, 'manifestHash');
    const anchored = await this.send(
      'research anchorRelease',
      encodeFunctionData({
        abi: researchRegistryAbi,
        functionName: 'anchorRelease',
        args: [
          studyId,
          manifestHash,
          parseBytes32(anchor.profileHash, 'profileHash'),
          anchor.consentBlock,
          anchor.records,
          anchor.suppressed,
          first,
        ],
      }),
    );
    let transactions = 1;
    for (let at = first.length; at < contributors.length; at += CONTRIBUTORS_PER_TRANSACTION) {
      await this.send(
        'research addContributors',
        encodeFunctionData({
          abi: researchRegistryAbi,
          functionName: 'addContributors',
          args: [studyId, manifestHash, contributors.slice(at, at + CONTRIBUTORS_PER_TRANSACTION)],
        }),
      );
      transactions += 1;
    }
    return { transactions, blockNumber: anchored.blockNumber };
  }

  // ------------------------------------------------------------------ reads (chain)

  /** The study as the contract holds it now, or undefined. */
  async get(studyId: Hex): Promise<(Omit<Study, 'resourceTypes'> & { resourceTypesHash: Hex }) | undefined> {
    const id = parseBytes32(studyId, 'studyId');
    const [s, boards] = await Promise.all([
      this.client.readContract({
        address: this.address,
        abi: researchRegistryAbi,
        functionName: 'studyOf',
        args: [id],
      }),
      this.client.readContract({
        address: this.address,
        abi: researchRegistryAbi,
        functionName: 'ethicsBoardsOf',
        args: [id],
      }),
    ]);
    const status = STUDY_STATUSES[s.status] ?? 'none';
    if (status === 'none') return undefined;
    return {
      id,
      researcher: getAddress(s.researcher),
      protocolHash: s.protocolHash,
      profileHash: s.profileHash,
      categories: decodeCategories(s.categories),
      resourceTypesHash: s.resourceTypesHash,
      notBefore: Number(s.notBefore),
      notAfter: Number(s.notAfter),
      k: s.k,
      ethicsBoards: boards.map((b) => getAddress(b)),
      status: status as StudyStatus,
    };
  }

  async list(): Promise<Hex[]> {
    return [
      ...(await this.client.readContract({
        address: this.address,
        abi: researchRegistryAbi,
        functionName: 'studyIds',
      })),
    ];
  }

  /** A release as anchored, or undefined: what a researcher verifies a download against. */
  async release(studyId: Hex, manifestHash: Hex): Promise<AnchoredRelease | undefined> {
    const r = await this.client.readContract({
      address: this.address,
      abi: researchRegistryAbi,
      functionName: 'releaseOf',
      args: [parseBytes32(studyId, 'studyId'), parseBytes32(manifestHash, 'manifestHash')],
    });
    if (/^0x0{40}$/i.test(r.member)) return undefined;
    return {
      member: getAddress(r.member),
      profileHash: r.profileHash,
      consentBlock: r.consentBlock,
      records: r.records,
      suppressed: r.suppressed,
      contributors: r.contributors,
      anchoredAt: Number(r.anchoredAt),
    };
  }

  async creditsOf(address: Address): Promise<bigint> {
    return this.client.readContract({
      address: this.address,
      abi: researchRegistryAbi,
      functionName: 'creditsOf',
      args: [getAddress(address)],
    });
  }
}
