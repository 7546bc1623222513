import type { Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import type { AddressMemo } from '../access-gate.js';
import { recordDenied } from '../audit-trail.js';
import type { RecordStorage, StoredVersion } from '../record-storage.js';
import type { GatewayParts } from './gateway-parts.js';
import { verifyRecordMayBeSeen } from './unseen-record.js';

/** One version in an instance history (R4 §3.1.0.10): a deleted version has no resource. */
export interface InstanceHistoryEntry {
  readonly versionId: number;
  readonly lastUpdated: string;
  readonly resource?: Resource;
  readonly deleted: boolean;
}

/** One version in a type history: as an instance history entry, with the resource's id. */
export interface TypeHistoryEntry extends InstanceHistoryEntry {
  readonly id: string;
  /** Where the next page starts (`beforeLogIndex`): versions are listed by falling log index. */
  readonly logIndex: number;
}

/** Versions newest first; a deleted version is `{ deleted: true }` with its metadata. */
export async function readInstanceHistory(
  parts: GatewayParts,
  resourceType: string,
  id: string,
  context: AccessContext,
): Promise<InstanceHistoryEntry[]> {
  // The compartment from the current version's metadata; the versions only once it may be seen.
  const current = await parts.store.storage.current(resourceType, id);
  const entity = `${resourceType}/${id}`;
  const requester = await parts.gate.admit('history-instance', context, {
    entity,
    ...(current === undefined ? {} : { patient: current.patientId }),
    resourceType,
  });
  await verifyRecordMayBeSeen(parts, requester, context, 'history-instance', {
    resourceType,
    id,
    patientId: current?.patientId,
    entity,
  });
  const versions = await parts.store.storage.history(resourceType, id);
  if (versions.length === 0)
    throw new CareLedgerError('ERR_NOT_FOUND', `${resourceType}/${id} does not exist`);
  const patient = versions[0]?.patientId ?? '';
  const memo: AddressMemo = new Map();
  const result: InstanceHistoryEntry[] = [];
  let refused: string | undefined;
  let breakGlass = false;
  for (const version of versions) {
    if (version.deleted) {
      if (parts.gate.seesCompartment(requester, version.patientId)) {
        result.push({ versionId: version.versionId, lastUpdated: version.lastUpdated, deleted: true });
      }
      continue;
    }
    const resource = await parts.store.open(version);
    // Each version in its own compartment: a record moved between patients keeps its old versions
    // under the old patient's consent, not the new one's (security review, issue 14).
    const decision = await parts.gate.decide(
      requester,
      context,
      'history-instance',
      version.patientId,
      resource,
      memo,
    );
    if (!decision.allowed) {
      refused ??= decision.reason;
      continue;
    }
    breakGlass ||= decision.breakGlass;
    result.push({
      versionId: version.versionId,
      lastUpdated: version.lastUpdated,
      deleted: false,
      resource,
    });
  }
  if (refused !== undefined && !result.some((r) => !r.deleted)) {
    // As a refused read (decision 0005): only the node's staff learn that what they may not see exists.
    if (requester.kind !== 'staff') {
      await recordDenied(parts.store, 'history-instance', context, { entity, patient, reason: refused });
      throw new CareLedgerError('ERR_NOT_FOUND', `${resourceType}/${id} does not exist`);
    }
    await parts.gate.refuse('history-instance', context, { entity, patient, reason: refused });
  }
  await parts.store.commit([], { interaction: 'history-instance', context, entity, patient, breakGlass });
  return result;
}

/**
 * Type history (R4 §3.1.0.10.1): every version of every resource of a type the requester may see,
 * newest first, at most `count`, optionally only versions after `since` and below the log index
 * `beforeLogIndex` (the page before ended there). Audited once per patient.
 */
export async function readTypeHistory(
  parts: GatewayParts,
  resourceType: string,
  context: AccessContext,
  options: { since?: string; beforeLogIndex?: number; count: number },
): Promise<TypeHistoryEntry[]> {
  const requester = await parts.gate.admit('history-type', context, {
    entity: `${resourceType}/_history`,
    resourceType,
  });
  const memo: AddressMemo = new Map();
  const result: TypeHistoryEntry[] = [];
  const patients = new Map<string, boolean>();
  const versions = typeHistoryVersions(
    parts.store.storage,
    resourceType,
    options.since,
    options.beforeLogIndex,
  );
  for await (const version of versions) {
    if (result.length >= options.count) break;
    if (!parts.gate.seesCompartment(requester, version.patientId)) continue;
    let resource: Resource | undefined;
    let breakGlass = false;
    if (!version.deleted) {
      resource = await parts.store.openUnlessErased(version);
      if (resource === undefined) continue;
      const decision = await parts.gate.decide(
        requester,
        context,
        'history-type',
        version.patientId,
        resource,
        memo,
      );
      if (!decision.allowed) continue;
      breakGlass = decision.breakGlass;
    }
    patients.set(version.patientId, (patients.get(version.patientId) ?? false) || breakGlass);
    result.push({
      id: version.id,
      logIndex: version.logIndex,
      versionId: version.versionId,
      lastUpdated: version.lastUpdated,
      deleted: version.deleted,
      ...(resource === undefined ? {} : { resource: parts.store.served(resource, version, context) }),
    });
  }
  for (const [patient, breakGlass] of patients.size === 0 ? [['', false] as const] : patients) {
    await parts.store.commit([], {
      interaction: 'history-type',
      context,
      entity: `${resourceType}/_history`,
      patient,
      breakGlass,
    });
  }
  return result;
}

/** Pages through a type's versions newest first (no open cursor across the awaits of decryption). */
async function* typeHistoryVersions(
  storage: RecordStorage,
  resourceType: string,
  since?: string,
  start?: number,
): AsyncGenerator<StoredVersion> {
  let before = start;
  for (;;) {
    const page = await storage.typeHistory(resourceType, {
      ...(since === undefined ? {} : { since }),
      ...(before === undefined ? {} : { beforeLogIndex: before }),
      limit: 200,
    });
    yield* page;
    if (page.length < 200) return;
    before = page.at(-1)?.logIndex;
  }
}
