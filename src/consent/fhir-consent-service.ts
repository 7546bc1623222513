import type { Consent, Patient, Resource } from '@medplum/fhirtypes';
import type { Address, Hex } from 'viem';
import { patientLedgerAddress } from '../access/patient-ledger-address.js';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError, isCareLedgerError } from '../errors/index.js';
import {
  type ConsentDomain,
  type ConsentGrant,
  type ConsentRevoke,
  computeGrantId,
  computeTermsHash,
  type OutboxEntry,
} from '../ledger/index.js';
import type { ChainIndexStorage } from '../sync/index.js';
import type { ConsentOpeningStore } from './consent-opening.js';
import type { DeliverOpening } from './deliver-opening.js';
import {
  CONSENT_GRANT_SYSTEM,
  type ConsentLedgerCheck,
  ledgerConsentValue,
  toLedgerGrant,
  toSignedGrantBody,
  withLedgerConsentValues,
} from './fhir-consent.js';
import { type IsDelegate, parseSignedGrant, parseSignedRevoke } from './parse-signed-consent.js';

/**
 * The records the consent service needs, declared here and implemented by the vault's gateway
 * (`FhirRepository`), so consent depends on no vault internals and every call stays access-checked
 * and audited there.
 */
export interface ConsentRecordStore {
  read(resourceType: string, id: string, context: AccessContext): Promise<Resource>;
  conditionalCreate(
    input: unknown,
    condition: URLSearchParams,
    context: AccessContext,
  ): Promise<{ resource: Resource; created: boolean }>;
  update(input: unknown, context: AccessContext): Promise<{ resource: Resource; created: boolean }>;
}

export interface FhirConsentServiceOptions {
  readonly repository: ConsentRecordStore;
  readonly index: ChainIndexStorage;
  readonly domain: () => ConsentDomain;
  readonly relayGrant: (grant: ConsentGrant, signature: Hex) => Promise<OutboxEntry>;
  readonly relayRevoke: (revoke: ConsentRevoke, signature: Hex) => Promise<OutboxEntry>;
  /** Whether a signer may sign for the patient (a proxy or guardian on the ledger). */
  readonly isDelegate?: IsDelegate;
  /** Brings the ledger index up to the chain head (a retry may race the index). */
  readonly syncIndex?: () => Promise<void>;
  /** This node keeps the opening of every grant it relays (it holds the patient's records). */
  readonly openings: ConsentOpeningStore;
  /** Sends the opening to the other members that must enforce the grant (decision 0013). */
  readonly deliverOpening?: DeliverOpening;
}

/** The ledger's reasons for refusing a patient's signed change are the client's to fix: 400, named. */
function asBadRequest(error: unknown): never {
  if (
    isCareLedgerError(error) &&
    (error.code === 'ERR_NONCE_USED' || error.code === 'ERR_NONCE_OUT_OF_ORDER')
  ) {
    throw new CareLedgerError('ERR_INVALID_INPUT', error.message, {
      details: {
        ...error.details,
        reason: error.code === 'ERR_NONCE_USED' ? 'nonce-used' : 'nonce-out-of-order',
      },
      cause: error,
    });
  }
  throw error;
}

/**
 * Consent through FHIR (Core 4 item 3): a FHIR Consent plus the patient's EIP-712 signature over its
 * ledger form is validated, relayed to ConsentRegistry and stored as a FHIR Consent carrying the grant
 * id and transaction hash. Revocation the same way ($revoke); anyone who may read the Consent can
 * cross-check it against the ledger ($verify).
 */
export class FhirConsentService {
  constructor(private readonly options: FhirConsentServiceOptions) {}

  private async patientAddress(
    consent: Consent,
    context: AccessContext,
  ): Promise<{ id: string; address: Address }> {
    const reference = consent.patient?.reference ?? '';
    if (!/^Patient\/[A-Za-z0-9\-.]{1,64}$/.test(reference)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'Consent.patient must reference a Patient here', {
        details: { expression: 'Consent.patient' },
      });
    }
    const id = reference.slice('Patient/'.length);
    const patient = (await this.options.repository.read('Patient', id, context)) as Patient;
    const address = patientLedgerAddress(patient as Resource);
    if (address === undefined) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'the patient has no ledger key here, so no consent can be signed',
        {
          details: { expression: 'Consent.patient' },
        },
      );
    }
    return { id, address };
  }

  /** Validates, relays (once: a retry finds the grant already relayed) and stores the Consent. */
  async create(input: unknown, context: AccessContext): Promise<{ resource: Consent; created: boolean }> {
    const consent = input as Consent;
    if (consent?.resourceType !== 'Consent')
      throw new CareLedgerError('ERR_INVALID_INPUT', 'expected a Consent');
    if (consent.status !== 'active') {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a new ledger consent must have status active', {
        details: { expression: 'Consent.status' },
      });
    }
    const { address } = await this.patientAddress(consent, context);
    const signed = await parseSignedGrant(
      toSignedGrantBody(toLedgerGrant(consent, address)),
      this.options.domain(),
      { ...(this.options.isDelegate === undefined ? {} : { isDelegate: this.options.isDelegate }) },
    );
    // The chain gets only the commitment; the opening stays here, and goes to the other enforcers.
    await this.options.openings.save(signed);
    let txHash: string | undefined = (await this.options.index.grant(signed.grantId))?.txHash;
    if (txHash === undefined) {
      try {
        txHash = (await this.options.relayGrant(signed.grant, signed.signature)).txHash;
      } catch (error) {
        // A retry of a consent already relayed (perhaps by another member) finds it on the ledger.
        await this.options.syncIndex?.();
        txHash = (await this.options.index.grant(signed.grantId))?.txHash;
        if (txHash === undefined) asBadRequest(error);
      }
    }
    await this.options.deliverOpening?.(signed);
    const stored = withLedgerConsentValues(
      {
        ...consent,
        identifier: [
          ...(consent.identifier ?? []).filter((i) => i.system !== CONSENT_GRANT_SYSTEM),
          { system: CONSENT_GRANT_SYSTEM, value: signed.grantId },
        ],
      },
      { grantId: signed.grantId, transaction: txHash },
    );
    const { resource, created } = await this.options.repository.conditionalCreate(
      stored,
      new URLSearchParams({ identifier: `${CONSENT_GRANT_SYSTEM}|${signed.grantId}` }),
      context,
    );
    return { resource: resource as Consent, created };
  }

  /** Relays the patient's signed revocation of the Consent's grant, then marks the Consent inactive. */
  async revoke(
    id: string,
    input: { nonce: string; signature: string },
    context: AccessContext,
  ): Promise<Consent> {
    const consent = (await this.options.repository.read('Consent', id, context)) as Consent;
    const grantId = ledgerConsentValue(consent, 'grantId');
    if (grantId === undefined)
      throw new CareLedgerError('ERR_INVALID_INPUT', 'this Consent is not on the ledger');
    if (consent.status === 'inactive') return consent;
    const { address } = await this.patientAddress(consent, context);
    const signed = await parseSignedRevoke(
      { revoke: { patient: address, grantId, nonce: input.nonce }, signature: input.signature },
      this.options.domain(),
      { ...(this.options.isDelegate === undefined ? {} : { isDelegate: this.options.isDelegate }) },
    );
    const entry = await this.options.relayRevoke(signed.revoke, signed.signature).catch(asBadRequest);
    const { resource } = await this.options.repository.update(
      withLedgerConsentValues({ ...consent, status: 'inactive' }, { revokeTransaction: entry.txHash }),
      context,
    );
    return resource as Consent;
  }

  /**
   * Recomputes the ledger form from the Consent as stored, and compares it with the grant on the
   * ledger (this node's index of it): same grant id, same fields, and whether it was revoked.
   */
  async verify(id: string, context: AccessContext): Promise<ConsentLedgerCheck> {
    const consent = (await this.options.repository.read('Consent', id, context)) as Consent;
    const { address } = await this.patientAddress(consent, context);
    const form = toLedgerGrant(consent, address);
    const grantId = computeGrantId(this.options.domain(), form.grant);
    const claimed = ledgerConsentValue(consent, 'grantId');
    const onChain = await this.options.index.grant(grantId);
    if (onChain === undefined) {
      return {
        grantId,
        onLedger: false,
        matches: false,
        revoked: false,
        reason: 'no grant with this id on the ledger (yet)',
      };
    }
    const matches =
      claimed === grantId &&
      onChain.patient === form.grant.patient &&
      onChain.grantee.toLowerCase() === form.grant.grantee.toLowerCase() &&
      onChain.termsHash.toLowerCase() === computeTermsHash(form.grant).toLowerCase() &&
      BigInt(onChain.notBefore) === form.grant.notBefore &&
      BigInt(onChain.notAfter) === form.grant.notAfter;
    return {
      grantId,
      onLedger: true,
      matches,
      revoked: onChain.revokedAt !== null,
      transaction: onChain.txHash,
      blockNumber: onChain.blockNumber,
      ...(matches ? {} : { reason: 'the Consent differs from the grant on the ledger' }),
    };
  }
}
