import {
  type Address,
  getAddress,
  type Hex,
  isAddress,
  isHex,
  recoverTypedDataAddress,
  type TypedDataDefinition,
} from 'viem';
import { CareLedgerError } from '../errors/index.js';

/**
 * What a node asks a patient to sign to link a ledger key to their Patient record (issue 14 item 12):
 * the node, the Patient, the key, a single-use nonce the node stored, and when the request expires.
 * Signed as EIP-712 typed data, like consent grants (src/ledger/eip712.ts), so a wallet shows each
 * field; the domain has no chain id or contract, as nothing goes on chain: the node checks it.
 */
export interface LedgerKeyChallenge {
  /** The node that issued it (its public URL). */
  readonly node: string;
  /** `Patient/<id>` at that node. */
  readonly patient: string;
  /** The ledger address to be linked. */
  readonly key: Address;
  /** 32 random bytes, hex; the node's record of the challenge is keyed by it. */
  readonly nonce: Hex;
  /** Unix seconds after which the node refuses it. */
  readonly expiresAt: number;
}

export const LEDGER_KEY_PROOF_DOMAIN = { name: 'CareLedger patient key enrolment', version: '1' } as const;

const LEDGER_KEY_PROOF_TYPES = {
  Enrolment: [
    { name: 'node', type: 'string' },
    { name: 'patient', type: 'string' },
    { name: 'key', type: 'address' },
    { name: 'nonce', type: 'bytes32' },
    { name: 'expiresAt', type: 'uint64' },
  ],
} as const;

/** The argument for viem's signTypedData (`account.signTypedData(...)`, a wallet's eth_signTypedData_v4). */
export function createLedgerKeyProofTypedData(
  challenge: LedgerKeyChallenge,
): TypedDataDefinition<typeof LEDGER_KEY_PROOF_TYPES, 'Enrolment'> {
  return {
    domain: LEDGER_KEY_PROOF_DOMAIN,
    types: LEDGER_KEY_PROOF_TYPES,
    primaryType: 'Enrolment',
    message: {
      node: challenge.node,
      patient: challenge.patient,
      key: challenge.key,
      nonce: challenge.nonce,
      expiresAt: BigInt(challenge.expiresAt),
    },
  };
}

/** Why a proof of possession was refused: a closed list, stated in the error's `details.reason`. */
export type LedgerKeyProofFailure =
  | 'challenge-unknown'
  | 'challenge-used'
  | 'challenge-expired'
  | 'challenge-for-another-patient'
  | 'signature-mismatch';

const FAILURE_TEXT: Record<LedgerKeyProofFailure, string> = {
  'challenge-unknown': 'this node issued no such challenge',
  'challenge-used': 'the challenge was already used; ask for a new one',
  'challenge-expired': 'the challenge has expired; ask for a new one',
  'challenge-for-another-patient': 'the challenge was issued for another patient',
  'signature-mismatch': 'the signature is not by the key the challenge names',
};

const FAILURE_CODE = {
  'challenge-unknown': 'ERR_UNPROCESSABLE',
  'challenge-used': 'ERR_NONCE_USED',
  'challenge-expired': 'ERR_UNPROCESSABLE',
  'challenge-for-another-patient': 'ERR_UNPROCESSABLE',
  'signature-mismatch': 'ERR_SIGNATURE_INVALID',
} as const;

/** The typed error of a refused proof; the message names the reason, never the key or the patient. */
export function ledgerKeyProofError(reason: LedgerKeyProofFailure): CareLedgerError {
  return new CareLedgerError(
    FAILURE_CODE[reason],
    `key enrolment refused: ${FAILURE_TEXT[reason]} (${reason})`,
    {
      details: { reason },
    },
  );
}

/**
 * Checks a proof of possession against the challenge the node stored: it is for `patientId`, not
 * expired at `nowSeconds`, and `signature` recovers to the key it names. Returns the key (checksummed)
 * or throws ledgerKeyProofError. Whether the challenge is unused is the caller's to check, atomically.
 */
export async function verifyLedgerKeyProof(
  challenge: LedgerKeyChallenge,
  signature: unknown,
  expected: { readonly patientId: string; readonly nowSeconds: number },
): Promise<Address> {
  if (challenge.patient !== `Patient/${expected.patientId}`) {
    throw ledgerKeyProofError('challenge-for-another-patient');
  }
  if (expected.nowSeconds >= challenge.expiresAt) throw ledgerKeyProofError('challenge-expired');
  if (typeof signature !== 'string' || !isHex(signature) || signature.length !== 132) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'signature must be 65 bytes, hex (r ‖ s ‖ v)');
  }
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({ ...createLedgerKeyProofTypedData(challenge), signature });
  } catch {
    throw ledgerKeyProofError('signature-mismatch');
  }
  if (!isAddress(challenge.key, { strict: false }) || signer !== getAddress(challenge.key)) {
    throw ledgerKeyProofError('signature-mismatch');
  }
  return signer;
}
