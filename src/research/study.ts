import { type Address, concat, getAddress, type Hex, keccak256, slice, toBytes } from 'viem';
import type { DataCategory } from '../ledger/codes.js';

/**
 * A research study as the consortium sees it: what the ResearchRegistry contract holds (no PHI) and
 * what every node needs to decide whether, and what, it may release for the study.
 *
 * Lifecycle (decision 0024): proposed → approved → open → closed. Data moves only while a study is
 * open and the release date is inside [notBefore, notAfter).
 */
export type StudyStatus = 'proposed' | 'approved' | 'open' | 'closed';

export interface Study {
  /** bytes32, chosen by the proposing research member (e.g. keccak of its protocol id). */
  readonly id: Hex;
  /** The research member that proposed it and receives its releases. */
  readonly researcher: Address;
  /** SHA-256 or keccak-256 of the protocol document, never the document. */
  readonly protocolHash: Hex;
  /** Hash of the de-identification profile releases must use (canonical JSON, SHA-256). */
  readonly profileHash: Hex;
  readonly categories: readonly DataCategory[];
  /** FHIR resource types the study needs; releases contain these only. */
  readonly resourceTypes: readonly string[];
  /** Unix seconds, the study's period. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** Minimum cohort size for k-anonymity over the quasi-identifiers. */
  readonly k: number;
  /** Members named as ethics boards; empty means approval by the consortium's vote. */
  readonly ethicsBoards: readonly Address[];
  readonly status: StudyStatus;
}

/**
 * The ledger address a patient grants to when joining a study (EIP-712 consent, purpose HRESCH,
 * grantee = this address). Derived from the study id, so every node computes it without a lookup and
 * no key exists for it: nobody can act as the study. Joining "research in general" is a grant to
 * {@link GENERAL_RESEARCH_ADDRESS}.
 */
export function studyGrantee(studyId: Hex): Address {
  return getAddress(slice(keccak256(concat([toBytes('careledger:study:'), toBytes(studyId)])), 12));
}

/** The grantee of a patient's consent to research in general (any approved, open study). */
export const GENERAL_RESEARCH_ADDRESS: Address = getAddress(
  slice(keccak256(toBytes('careledger:research:general')), 12),
);

/** What a node anchors for each release (ResearchRegistry.anchorRelease); no PHI. */
export interface ReleaseAnchor {
  readonly studyId: Hex;
  /** SHA-256 of the canonical manifest JSON. */
  readonly manifestHash: Hex;
  readonly profileHash: Hex;
  /** The block whose consent state decided the cohort. */
  readonly consentBlock: bigint;
  readonly records: number;
  readonly suppressed: number;
  /** Ledger addresses of the contributing patients, who receive non-transferable credits. */
  readonly contributors: readonly Address[];
}
