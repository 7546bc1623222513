/**
 * What the release pipeline needs from the research registry (RA's ResearchIndex, cohort function and
 * ResearchLedger, decision 0024), declared here so the pipeline depends on interfaces, not on the
 * contract bindings: the composition root wires the real ones, tests may wire their own.
 */
import type { Address, Hex } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import type { ReleaseAnchor, Study } from '../study.js';

/**
 * A consenting patient as the cohort function returns it (src/research/ledger/cohort.ts,
 * `ConsentingPatient`, structurally): the local Patient ids carrying their ledger address, and the
 * per-study credit address that goes into {@link ReleaseAnchor.contributors}.
 */
export interface CohortMember {
  /** The patient's ledger address (pseudonymous), used to key a per-patient date shift. */
  readonly patient: Address;
  readonly patientIds: readonly string[];
  readonly creditAddress: Address;
}

/** A release as anchored on chain (ResearchRegistry.release), read back for verification. */
export interface AnchoredRelease {
  readonly studyId: Hex;
  readonly manifestHash: Hex;
  readonly profileHash: Hex;
  readonly consentBlock: bigint;
  readonly records: number;
  readonly suppressed: number;
  /** Contributors credited so far (the anchor's transaction, then addContributors), when known. */
  readonly credited?: number;
  /** The member that anchored it. */
  readonly member?: Address;
  /** The block the anchor was mined in, when known. */
  readonly block?: bigint;
}

export interface ReleasePorts {
  /** The study as the node's index holds it; undefined if there is none. */
  study(id: Hex): Promise<Study | undefined>;
  /** Patients whose consent (to the study or to research in general) is in force at the block. */
  cohort(study: Study, atBlock: bigint): Promise<readonly CohortMember[]>;
  /** The newest block the node's consent index has applied: the release's consent snapshot. */
  consentBlock(): Promise<bigint>;
  /** Anchors a manifest hash in the ResearchRegistry (through the node's outbox). */
  anchorRelease(anchor: ReleaseAnchor): Promise<void>;
  /** The anchored release of this manifest hash, or undefined if none is on chain. */
  release(studyId: Hex, manifestHash: Hex): Promise<AnchoredRelease | undefined>;
}

/** Ports for a node whose deployment has no ResearchRegistry: every study is unknown. */
export const NO_RESEARCH_REGISTRY: ReleasePorts = {
  study: async () => undefined,
  cohort: async () => [],
  consentBlock: async () => 0n,
  anchorRelease: async () => {
    throw new CareLedgerError('ERR_CONFIG', 'this deployment has no ResearchRegistry');
  },
  release: async () => undefined,
};
