import type { AuditEvent } from '@medplum/fhirtypes';
import type { AccessContext, FhirInteraction } from '../audit/create-audit-event.js';
import type { SealedRecordStore } from './sealed-record-store.js';

/** An AuditEvent as the vault keeps it, with what a patient needs to check it against the log. */
export interface AuditRecord {
  readonly auditEvent: AuditEvent;
  readonly logIndex: number;
  /** The salt of the log commitment: entry = {"t":"audit","c":hex(SHA-256(salt ‖ canonical JSON))}. */
  readonly salt: Uint8Array;
}

/** What a refused access names: the target (never its content) and the policy's reason. */
export interface DeniedAccess {
  readonly entity?: string;
  readonly patient?: string;
  readonly reason: string;
}

/** Records a refused access (the policy's decision) in the log, with its reason. */
export async function recordDenied(
  store: SealedRecordStore,
  interaction: FhirInteraction,
  context: AccessContext,
  target: DeniedAccess,
): Promise<void> {
  await store.commit([], {
    interaction,
    context,
    ...(target.entity === undefined ? {} : { entity: target.entity }),
    patient: target.patient ?? '',
    outcome: 'denied',
    outcomeDescription: target.reason,
  });
}

/** A patient's AuditEvents, oldest first, each with its log index and commitment salt. */
export async function loadAuditTrail(store: SealedRecordStore, patientId: string): Promise<AuditRecord[]> {
  const versions = await store.storage.listCurrent('AuditEvent', { patientId });
  const records: AuditRecord[] = [];
  for (const version of versions.sort((a, b) => a.logIndex - b.logIndex)) {
    records.push({
      auditEvent: (await store.open(version)) as AuditEvent,
      logIndex: version.logIndex,
      salt: version.commitmentSalt ?? new Uint8Array(),
    });
  }
  return records;
}
