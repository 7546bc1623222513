/**
 * Plain-English sentences for every custom error of the CareLedger contracts, for the CLI and the
 * API. A test checks that every error in the generated ABIs has an entry here. Sentences name roles
 * and sizes, never PHI: addresses are pseudonymous and safe to show.
 */
import type { ErrorCode } from '../errors/index.js';

type Describe = (args: readonly unknown[]) => string;

interface ContractErrorInfo {
  readonly describe: Describe;
  /** The CareLedgerError code a caller should raise for this revert. */
  readonly code: ErrorCode;
}

function arg(args: readonly unknown[], index: number): string {
  const value = args[index];
  if (value === undefined) return '?';
  return typeof value === 'string' ? value : String(value);
}

/** ResearchRegistry.Status as a word (the enum is a uint8 on the wire). */
function studyStatusName(value: unknown): string {
  return ['unknown', 'proposed', 'approved', 'open', 'closed'][Number(value)] ?? String(value);
}

const CONTRACT_ERRORS = {
  // ConsortiumRegistry (and ConsentRegistry for NotActiveMember)
  NotActiveMember: {
    code: 'ERR_NOT_MEMBER',
    describe: (a) => `address ${arg(a, 0)} is not an active consortium member`,
  },
  AlreadyMember: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `address ${arg(a, 0)} is already an active member`,
  },
  AlreadyVoted: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `member ${arg(a, 1)} already voted on proposal ${arg(a, 0)}`,
  },
  ProposalNotFound: { code: 'ERR_NOT_FOUND', describe: (a) => `proposal ${arg(a, 0)} does not exist` },
  ProposalExpired: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) =>
      `proposal ${arg(a, 0)} expired at ${arg(a, 1)} (unix seconds) and can no longer be voted on`,
  },
  ProposalAlreadyExecuted: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `proposal ${arg(a, 0)} was already executed`,
  },
  OriginTaken: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `log origin ${JSON.stringify(arg(a, 0))} already belongs to member ${arg(a, 1)}`,
  },
  InvalidThreshold: {
    code: 'ERR_CONFIG',
    describe: (a) => `threshold ${arg(a, 0)} must be between 1 and the ${arg(a, 1)} genesis members`,
  },
  EmptyName: { code: 'ERR_INVALID_INPUT', describe: () => 'the member name must not be empty' },
  EmptyOrigin: { code: 'ERR_INVALID_INPUT', describe: () => 'the log origin must not be empty' },
  InvalidRole: { code: 'ERR_INVALID_INPUT', describe: (a) => `member role ${arg(a, 0)} is not a known role` },
  ZeroAddress: { code: 'ERR_INVALID_INPUT', describe: () => 'the zero address is not allowed here' },
  CannotRemoveLastMember: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `member ${arg(a, 0)} is the last active member and cannot be removed`,
  },
  PractitionerNotFound: {
    code: 'ERR_NOT_FOUND',
    describe: (a) => `practitioner ${arg(a, 0)} was never attested by any member`,
  },
  PractitionerAlreadyRevoked: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `the attestation of practitioner ${arg(a, 0)} was already revoked`,
  },
  PractitionerAttestedByOther: {
    code: 'ERR_FORBIDDEN',
    describe: (a) => `practitioner ${arg(a, 0)} is currently attested by another organization (${arg(a, 1)})`,
  },
  NotAttestingOrganization: {
    code: 'ERR_FORBIDDEN',
    describe: (a) =>
      `only the organization that attested practitioner ${arg(a, 0)} may revoke it, not ${arg(a, 1)}`,
  },
  InvalidExpiry: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `the expiry ${arg(a, 0)} is not after the current block time ${arg(a, 1)}`,
  },
  // ConsentRegistry
  InvalidSignature: {
    code: 'ERR_SIGNATURE_INVALID',
    describe: () => 'the consent signature is not a valid signature by the patient',
  },
  NonceAlreadyUsed: {
    code: 'ERR_NONCE_USED',
    describe: (a) => `this consent nonce was already used (replay): expected ${arg(a, 0)}, got ${arg(a, 1)}`,
  },
  NonceOutOfOrder: {
    code: 'ERR_NONCE_OUT_OF_ORDER',
    describe: (a) =>
      `this consent nonce is ahead of the patient's sequence (an earlier consent is missing): expected ${arg(a, 0)}, got ${arg(a, 1)}`,
  },
  InvalidValidity: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) =>
      `the consent validity window is empty: not-after ${arg(a, 1)} must be later than not-before ${arg(a, 0)}`,
  },
  EmptyTerms: { code: 'ERR_INVALID_INPUT', describe: () => 'the consent commits to no terms' },
  InvalidGrantee: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `grantee ${arg(a, 0)} is not allowed (zero address or the patient themself)`,
  },
  GrantNotFound: { code: 'ERR_NOT_FOUND', describe: (a) => `consent grant ${arg(a, 0)} does not exist` },
  NotGrantPatient: {
    code: 'ERR_FORBIDDEN',
    describe: (a) => `consent grant ${arg(a, 0)} belongs to another patient than ${arg(a, 1)}`,
  },
  AlreadyRevoked: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `consent grant ${arg(a, 0)} was already revoked`,
  },
  InvalidDelegate: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `${arg(a, 0)} cannot be a delegate (zero address, or the patient themself)`,
  },
  DelegationNotFound: { code: 'ERR_NOT_FOUND', describe: (a) => `delegation ${arg(a, 0)} does not exist` },
  DelegationExists: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) => `delegation ${arg(a, 0)} already exists`,
  },
  NotDelegationAttester: {
    code: 'ERR_FORBIDDEN',
    describe: (a) => `only the member that attested guardianship ${arg(a, 0)} may end it, not ${arg(a, 1)}`,
  },
  InvalidDelegateSignature: {
    code: 'ERR_SIGNATURE_INVALID',
    describe: (a) => `the delegate key ${arg(a, 0)} did not sign its DelegateKey acceptance for this ward`,
  },
  DelegateKeyInUse: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) =>
      `${arg(a, 0)} already has another role (a delegate key of another ward, a patient, a ward, a member or a practitioner): a delegate key serves one ward only`,
  },
  // CheckpointAnchor
  NotOriginOwner: {
    code: 'ERR_FORBIDDEN',
    describe: (a) =>
      `${arg(a, 1)} is not the active member that owns log origin ${JSON.stringify(arg(a, 0))}`,
  },
  TreeSizeDecreased: {
    code: 'ERR_LOG_CHECKPOINT_INVALID',
    describe: (a) => `the log cannot shrink: last anchored tree size ${arg(a, 0)}, got ${arg(a, 1)}`,
  },
  ConflictingRoot: {
    code: 'ERR_LOG_EQUIVOCATION',
    describe: (a) => `a different root hash is already anchored for tree size ${arg(a, 0)} (equivocation)`,
  },
  AlreadyAnchored: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `this checkpoint (tree size ${arg(a, 0)}) is already anchored`,
  },
  CheckpointNotFound: {
    code: 'ERR_NOT_FOUND',
    describe: (a) => `log origin ${JSON.stringify(arg(a, 0))} has no anchored checkpoint number ${arg(a, 1)}`,
  },
  // SupplyChain (decision 0023); packs and lots are keyed hashes, never a readable SGTIN
  NotManufacturer: {
    code: 'ERR_FORBIDDEN',
    describe: (a) => `${arg(a, 0)} is not a member with the manufacturer role`,
  },
  PackExists: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) => `pack ${arg(a, 0)} is already commissioned`,
  },
  UnknownPack: { code: 'ERR_NOT_FOUND', describe: (a) => `pack ${arg(a, 0)} was never commissioned` },
  NotOwner: { code: 'ERR_FORBIDDEN', describe: (a) => `${arg(a, 1)} does not own pack ${arg(a, 0)}` },
  NotLotManufacturer: {
    code: 'ERR_FORBIDDEN',
    describe: (a) => `${arg(a, 1)} is not the manufacturer that commissioned lot ${arg(a, 0)}`,
  },
  UnknownLot: { code: 'ERR_NOT_FOUND', describe: (a) => `lot ${arg(a, 0)} has no commissioned pack` },
  PackInactive: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) => `pack ${arg(a, 0)} is not in a state that allows this (status ${arg(a, 1)})`,
  },
  NotCaseHolder: {
    code: 'ERR_FORBIDDEN',
    describe: (a) => `${arg(a, 1)} does not hold case ${arg(a, 0)}`,
  },
  GlnTaken: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) => `GLN ${arg(a, 0)} already belongs to member ${arg(a, 1)}`,
  },
  // ClaimsRegistry (decision 0019); claims and decisions are keyed commitments, never a readable claim
  NotPayer: { code: 'ERR_FORBIDDEN', describe: (a) => `${arg(a, 0)} is not a member with the payer role` },
  NotClaimant: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `${arg(a, 0)} is not a member that bills claims (provider, lab or pharmacy)`,
  },
  ZeroValue: { code: 'ERR_INVALID_INPUT', describe: () => 'a version, hash, commitment or amount is empty' },
  InvalidPeriod: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `the policy period ends (day ${arg(a, 1)}) before it starts (day ${arg(a, 0)})`,
  },
  PolicyVersionExists: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) => `payer ${arg(a, 0)} already published policy version ${JSON.stringify(arg(a, 1))}`,
  },
  UnknownPolicyVersion: {
    code: 'ERR_NOT_FOUND',
    describe: (a) => `payer ${arg(a, 0)} published no policy version ${JSON.stringify(arg(a, 1))}`,
  },
  DecisionExists: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) => `a decision is already anchored for claim commitment ${arg(a, 0)} (a duplicate claim)`,
  },
  UnknownDecision: {
    code: 'ERR_NOT_FOUND',
    describe: (a) => `no decision is anchored for claim ${arg(a, 0)}`,
  },
  NotDecisionParty: {
    code: 'ERR_FORBIDDEN',
    describe: (a) => `${arg(a, 0)} is not the party of decision ${arg(a, 1)} that may do this`,
  },
  DisputeNotOpen: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) => `decision ${arg(a, 0)} has no open dispute`,
  },
  AlreadyDisputed: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) => `decision ${arg(a, 0)} is already under dispute`,
  },
  // ResearchRegistry (decision 0024); studies are hashes and bitmasks, contributors per-study addresses
  NotResearchMember: {
    code: 'ERR_FORBIDDEN',
    describe: (a) => `${arg(a, 0)} is not a member with the research role`,
  },
  StudyExists: { code: 'ERR_PRECONDITION_FAILED', describe: (a) => `study ${arg(a, 0)} is already proposed` },
  UnknownStudy: { code: 'ERR_NOT_FOUND', describe: (a) => `study ${arg(a, 0)} was never proposed` },
  StudyFieldEmpty: { code: 'ERR_INVALID_INPUT', describe: (a) => `the study's ${arg(a, 0)} is empty` },
  StudyPeriodInvalid: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `the study period ends (${arg(a, 1)}) at or before it starts (${arg(a, 0)})`,
  },
  CohortTooSmall: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `a minimum cohort k of ${arg(a, 0)} is too small (at least 2)`,
  },
  TooManyEntries: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `too many ${arg(a, 0)} (${arg(a, 1)})`,
  },
  EthicsBoardInvalid: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) =>
      `${arg(a, 0)} cannot be an ethics board of this study (not an active member, the researcher, or named twice)`,
  },
  NotEthicsBoard: {
    code: 'ERR_FORBIDDEN',
    describe: (a) => `${arg(a, 1)} is not an ethics board named by study ${arg(a, 0)}`,
  },
  ResearcherCannotVote: {
    code: 'ERR_FORBIDDEN',
    describe: (a) => `the researcher of study ${arg(a, 0)} cannot approve its own study`,
  },
  AlreadyVotedOnStudy: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) => `member ${arg(a, 1)} already voted on study ${arg(a, 0)}`,
  },
  WrongStudyStatus: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) => `study ${arg(a, 0)} is ${studyStatusName(a[1])}, which does not allow this`,
  },
  NotResearcher: {
    code: 'ERR_FORBIDDEN',
    describe: (a) => `${arg(a, 1)} is not the researcher of study ${arg(a, 0)}`,
  },
  StudyNotOpen: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) => `study ${arg(a, 0)} is not open (it is ${studyStatusName(a[1])}): no release`,
  },
  OutsideStudyPeriod: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) =>
      `time ${arg(a, 1)} is outside the period of study ${arg(a, 0)} (${arg(a, 2)} to ${arg(a, 3)}): no release`,
  },
  ProfileMismatch: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `profile ${arg(a, 1)} is not the de-identification profile study ${arg(a, 0)} approved`,
  },
  ConsentBlockInFuture: {
    code: 'ERR_INVALID_INPUT',
    describe: (a) => `consent block ${arg(a, 0)} is after the current block ${arg(a, 1)}`,
  },
  ReleaseExists: {
    code: 'ERR_PRECONDITION_FAILED',
    describe: (a) => `manifest ${arg(a, 1)} is already anchored for study ${arg(a, 0)}`,
  },
  UnknownRelease: {
    code: 'ERR_NOT_FOUND',
    describe: (a) => `no release with manifest ${arg(a, 1)} is anchored for study ${arg(a, 0)}`,
  },
  NotReleaseMember: {
    code: 'ERR_FORBIDDEN',
    describe: (a) => `${arg(a, 2)} did not anchor release ${arg(a, 1)} of study ${arg(a, 0)}`,
  },
} as const satisfies Record<string, ContractErrorInfo>;

export type ContractErrorName = keyof typeof CONTRACT_ERRORS;

export const CONTRACT_ERROR_NAMES = Object.keys(CONTRACT_ERRORS) as ContractErrorName[];

export function isContractErrorName(name: unknown): name is ContractErrorName {
  return typeof name === 'string' && Object.hasOwn(CONTRACT_ERRORS, name);
}

/** A sentence for a contract revert; unknown names get a generic sentence naming the error. */
export function describeContractError(name: string, args: readonly unknown[] = []): string {
  if (!isContractErrorName(name)) return `the ledger rejected the transaction (${name})`;
  return CONTRACT_ERRORS[name].describe(args);
}

/** The CareLedgerError code for a contract revert (ERR_CHAIN_REVERTED when unknown). */
export function contractErrorCode(name: string): ErrorCode {
  return isContractErrorName(name) ? CONTRACT_ERRORS[name].code : 'ERR_CHAIN_REVERTED';
}
