import type { Address } from 'viem';
import { patientLedgerAddress } from '../access/index.js';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import { forgetIndexHashes } from '../fhir/search/extract-search-index-entries.js';
import { NODE_KEY_PATIENT_ID } from './data-key-store.js';
import type { SealedRecordStore } from './sealed-record-store.js';
import type { VaultCrypto } from './vault-crypto.js';

export interface ErasePatientDeps {
  readonly store: SealedRecordStore;
  readonly crypto: VaultCrypto;
  /** Awaited before the keys are destroyed (see FhirRepositoryOptions.onPatientErased). */
  readonly onPatientErased?: (patientId: string, ledgerAddress: Address | undefined) => void | Promise<void>;
}

export interface ErasureResult {
  readonly erasedAt: string;
  readonly keyVersions: number;
  readonly alreadyErased: boolean;
}

/**
 * Crypto-shredding (GDPR Art. 17, on the operator's authority): destroys every data key of the
 * patient, so each of their record versions becomes unreadable (reads answer 410 Gone) while the
 * log, its proofs and the AuditEvents (sealed under the node key) stay intact. The blind-index rows
 * of the erased records go too: they are keyed hashes of the erased values. The erasure itself is
 * audited. Idempotent: erasing an erased patient reports the first erasure.
 */
export async function erasePatient(
  deps: ErasePatientDeps,
  patientId: string,
  context: AccessContext,
): Promise<ErasureResult> {
  const { store, crypto } = deps;
  if (patientId === NODE_KEY_PATIENT_ID) throw new CareLedgerError('ERR_INVALID_INPUT', 'not a patient id');
  const current = await store.storage.current('Patient', patientId);
  if (current === undefined)
    throw new CareLedgerError('ERR_NOT_FOUND', `Patient/${patientId} does not exist`);
  const before = await crypto.erasedAt(patientId);
  if (before !== undefined) {
    return { erasedAt: new Date(before).toISOString(), keyVersions: 0, alreadyErased: true };
  }
  // Read before the keys go: afterwards nothing can tell which ledger address this patient had.
  const ledgerAddress =
    deps.onPatientErased === undefined || current.deleted
      ? undefined
      : patientLedgerAddress(await store.openUnlessErased(current));
  try {
    await deps.onPatientErased?.(patientId, ledgerAddress);
  } catch {
    // The listener's failure is its own to report; erasure does not wait on the ledger.
  }
  const destroyed = await crypto.destroyPatientKeys(patientId);
  store.forgetDecrypted(patientId);
  forgetIndexHashes();
  await store.commitMany(
    [],
    [{ interaction: 'operation', context, entity: `Patient/${patientId}/$erase`, patient: patientId }],
    [{ kind: 'drop-search-index', patientId }],
  );
  return {
    erasedAt: new Date(destroyed.destroyedAt).toISOString(),
    keyVersions: destroyed.deletedVersions,
    alreadyErased: false,
  };
}
