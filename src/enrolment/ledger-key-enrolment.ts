import { randomBytes } from 'node:crypto';
import { getAddress, type Hex, isAddress, isHex, toHex } from 'viem';
import { parseRequester } from '../access/index.js';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import {
  createLedgerKeyProofTypedData,
  type LedgerKeyChallenge,
  ledgerKeyProofError,
} from '../identity/ledger-key-proof.js';
import type { FhirRepository } from '../vault/fhir-repository.js';
import type { LedgerKeyLinkResult } from '../vault/operations/link-ledger-address.js';
import type { LedgerKeyChallengeStore } from './ledger-key-challenge-store.js';

/** How long a challenge may wait for the patient's signature: long enough for a desk, short enough to go stale. */
export const DEFAULT_CHALLENGE_TTL_SECONDS = 600;

export interface LedgerKeyEnrolmentOptions {
  readonly repository: FhirRepository;
  readonly challenges: LedgerKeyChallengeStore;
  /** This node as the challenge names it (its public URL). */
  readonly node: string;
  readonly now?: () => Date;
  readonly newNonce?: () => Hex;
  readonly ttlSeconds?: number;
}

/** A challenge with the EIP-712 typed data to sign (expiresAt as a JSON number, as wallets take it). */
export interface IssuedLedgerKeyChallenge {
  readonly challenge: LedgerKeyChallenge;
  readonly typedData: {
    readonly domain: ReturnType<typeof createLedgerKeyProofTypedData>['domain'];
    readonly types: ReturnType<typeof createLedgerKeyProofTypedData>['types'];
    readonly primaryType: 'Enrolment';
    readonly message: LedgerKeyChallenge;
  };
}

const PATIENT_ID = /^[A-Za-z0-9\-.]{1,64}$/;

/**
 * Key enrolment (issue 14 item 12): a patient's ledger key is linked to their Patient record only
 * with proof that the patient holds it. The node issues a single-use, expiring challenge naming
 * itself, the Patient, the key and a nonce, and stores it; the patient signs it (EIP-712) with that
 * key, in the portal or at the desk with the CLI; the vault checks the signature and links the key,
 * audited (FhirRepository.linkLedgerAddress). Replacing or removing a linked key needs the privacy
 * officer, and replacing one a fresh proof of the new key.
 */
export class LedgerKeyEnrolment {
  private readonly now: () => Date;
  private readonly newNonce: () => Hex;
  private readonly ttlSeconds: number;

  constructor(private readonly options: LedgerKeyEnrolmentOptions) {
    this.now = options.now ?? (() => new Date());
    this.newNonce = options.newNonce ?? (() => toHex(randomBytes(32)));
    this.ttlSeconds = options.ttlSeconds ?? DEFAULT_CHALLENGE_TTL_SECONDS;
  }

  /** Issues and stores a challenge for linking `key` to Patient `patientId`. */
  async issueChallenge(
    patientId: string,
    key: unknown,
    context: AccessContext,
  ): Promise<IssuedLedgerKeyChallenge> {
    const patient = parsePatientId(patientId);
    if (typeof key !== 'string' || !isAddress(key, { strict: false })) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'key must be a ledger address (0x + 40 hex digits)');
    }
    const requester = parseRequester(context);
    const mayAsk =
      (requester.kind === 'staff' && requester.roles.length > 0) ||
      (requester.kind === 'patient' && requester.patientId === patient);
    if (!mayAsk) {
      throw new CareLedgerError(
        'ERR_FORBIDDEN',
        'only this node\u2019s staff or the patient may enrol the patient\u2019s key',
      );
    }
    const issuedAt = Math.floor(this.now().getTime() / 1000);
    const challenge: LedgerKeyChallenge = {
      node: this.options.node,
      patient: `Patient/${patient}`,
      key: getAddress(key),
      nonce: this.newNonce(),
      expiresAt: issuedAt + this.ttlSeconds,
    };
    await this.options.challenges.insert({ ...challenge, issuedAt, requestedBy: context.who });
    const { domain, types } = createLedgerKeyProofTypedData(challenge);
    return { challenge, typedData: { domain, types, primaryType: 'Enrolment', message: challenge } };
  }

  /** Links the key the stored challenge names, given the patient's signature over it. */
  async enrol(
    patientId: string,
    body: { readonly nonce?: unknown; readonly signature?: unknown },
    context: AccessContext,
  ): Promise<LedgerKeyLinkResult> {
    const patient = parsePatientId(patientId);
    if (typeof body.nonce !== 'string' || !isHex(body.nonce) || body.nonce.length !== 66) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'nonce must be the 32-byte hex nonce of the challenge');
    }
    const nonce = body.nonce;
    const stored = await this.options.challenges.get(nonce);
    if (stored === undefined) throw ledgerKeyProofError('challenge-unknown');
    if (stored.usedAt !== undefined) throw ledgerKeyProofError('challenge-used');
    const challenge: LedgerKeyChallenge = {
      node: stored.node,
      patient: stored.patient,
      key: stored.key,
      nonce: stored.nonce,
      expiresAt: stored.expiresAt,
    };
    return this.options.repository.linkLedgerAddress(
      patient,
      {
        challenge,
        signature: body.signature,
        consume: () => this.options.challenges.consume(nonce, Math.floor(this.now().getTime() / 1000)),
      },
      context,
    );
  }

  /** Removes the patient's ledger key link (privacy officer only; audited). */
  unlink(patientId: string, context: AccessContext): Promise<LedgerKeyLinkResult> {
    return this.options.repository.linkLedgerAddress(parsePatientId(patientId), undefined, context);
  }
}

function parsePatientId(patientId: string): string {
  if (!PATIENT_ID.test(patientId)) throw new CareLedgerError('ERR_INVALID_INPUT', 'not a Patient id');
  return patientId;
}
