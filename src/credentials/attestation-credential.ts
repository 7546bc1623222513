/**
 * A member attests a practitioner on the ledger only with a valid licence credential (issue 21 "Bad
 * input", decision 0028). The practitioner presents their vc+jwt when enrolled; the node verifies it
 * against the chain (admitted board and key, signature, validity, both status bits, about the
 * practitioner's ledger account) and that the board recorded it on the ledger, then attests with
 * credentialHash = keccak256(vc+jwt), the credential's qualification code, and an expiry no later
 * than the licence's. ConsortiumRegistry is not changed: the check sits where attestations are
 * submitted (every node's /admin/practitioners), not on chain.
 */
import type { Address, Hex } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { type CredentialChainIndex, credentialHashOf } from './credential-ledger.js';
import { practitionerDid } from './practitioner-credential.js';
import { verifyCredentialOnChain } from './verify-on-chain.js';

export interface AttestationTerms {
  readonly credentialHash: Hex;
  readonly qualificationCode: string;
  readonly expiresAt: bigint;
}

/** What /admin/practitioners asks before it attests: the terms, or undefined to attest as sent. */
export type AttestationCredentialCheck = (
  practitioner: Address,
  request: { readonly credential?: unknown; readonly expiresAt?: number },
) => Promise<AttestationTerms | undefined>;

function refused(reason: string, message: string): CareLedgerError {
  return new CareLedgerError('ERR_FORBIDDEN', `attestation refused: practitioner credential: ${message}`, {
    details: { reason },
  });
}

export function createAttestationCredentialCheck(options: {
  readonly index: () => Promise<CredentialChainIndex>;
  readonly chainId: number;
  /** The node requires licences (practitionerCredentials.required): no attestation without one. */
  readonly required: () => boolean;
  readonly now?: () => Date;
}): AttestationCredentialCheck {
  return async (practitioner, request) => {
    if (request.credential === undefined) {
      if (!options.required()) return undefined;
      throw refused(
        'no-credential',
        'no-credential (send the practitioner licence as `credential`, a vc+jwt)',
      );
    }
    if (typeof request.credential !== 'string') {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'credential must be a vc+jwt string');
    }
    const jwt = request.credential.trim();
    const index = await options.index();
    await index.sync();
    const now = options.now?.() ?? new Date();
    try {
      await verifyCredentialOnChain(jwt, {
        index,
        now,
        expectedSubject: practitionerDid(options.chainId, practitioner),
      });
    } catch (error) {
      if (error instanceof CareLedgerError && typeof error.details.reason === 'string') {
        throw refused(error.details.reason, error.details.reason);
      }
      throw error;
    }
    const credentialHash = credentialHashOf(jwt);
    const record = await index.credential(credentialHash);
    if (record === undefined) {
      throw refused(
        'not-recorded',
        'not-recorded (the board has not recorded this credential on the ledger)',
      );
    }
    if (record.subject.toLowerCase() !== practitioner.toLowerCase())
      throw refused('wrong-subject', 'wrong-subject');
    const until = BigInt(record.validUntil);
    const asked = request.expiresAt === undefined ? until : BigInt(request.expiresAt);
    return {
      credentialHash,
      qualificationCode: record.qualification.code,
      expiresAt: asked < until ? asked : until,
    };
  };
}
