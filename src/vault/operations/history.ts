import type { Resource } from '@medplum/fhirtypes';
import { evaluateTokenScopes } from '../../access/index.js';
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

/** One version in a type or system history: as an instance history entry, with the resource's type and id. */
export interface TypeHistoryEntry extends InstanceHistoryEntry {
  readonly resourceType: string;
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
      if (deletedVersionVisible(parts, requester, context, 'history-instance', version)) {
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

/** What a type or system history page asks for (R4 §3.1.0.10). */
export interface HistoryPageOptions {
  /** Versions updated after this FHIR instant. */
  readonly since?: string;
  /** Versions current at some point in [start, end) (epoch ms): `_at`. */
  readonly at?: { readonly start: number; readonly end: number };
  /** The page before ended at this log index. */
  readonly beforeLogIndex?: number;
  readonly count: number;
}

/**
 * Type history (R4 §3.1.0.10.1), or system history when `resourceType` is undefined (every type but
 * AuditEvent, decision 0051): every version the requester may see, newest first, at most `count`.
 * The same decisions for both: the type's scopes (at the start for a type, per type met for the
 * system), the compartment for a deleted version, the policy for each version's content. Audited
 * once per patient, as `history-type` of `Type/_history` or of `_history`.
 */
export async function readTypeHistory(
  parts: GatewayParts,
  resourceType: string | undefined,
  context: AccessContext,
  options: HistoryPageOptions,
): Promise<TypeHistoryEntry[]> {
  const entity = resourceType === undefined ? '_history' : `${resourceType}/_history`;
  const requester = await parts.gate.admit('history-type', context, {
    entity,
    ...(resourceType === undefined ? {} : { resourceType }),
  });
  // System history: a type the token's scopes leave out is left out, not refused (SMART scopes §3).
  const inScope = new Map<string, boolean>();
  const scoped = (type: string): boolean => {
    let allowed = inScope.get(type);
    if (allowed === undefined) {
      allowed = resourceType !== undefined || evaluateTokenScopes(context, 'history-type', type).allowed;
      inScope.set(type, allowed);
    }
    return allowed;
  };
  const memo: AddressMemo = new Map();
  const result: TypeHistoryEntry[] = [];
  const patients = new Map<string, boolean>();
  // R4 §3.1.0.10: `_since` includes versions made at the instant; storage lists those strictly after.
  const after =
    options.since === undefined ? undefined : new Date(Date.parse(options.since) - 1).toISOString();
  const versions = historyVersions(parts.store.storage, resourceType, after, options.beforeLogIndex);
  for await (const version of versions) {
    if (result.length >= options.count) break;
    if (!scoped(version.resourceType)) continue;
    if (version.deleted && !deletedVersionVisible(parts, requester, context, 'history-type', version))
      continue;
    if (!version.deleted && !parts.gate.seesCompartment(requester, version.patientId)) continue;
    if (options.at !== undefined && !(await wasCurrentIn(parts.store.storage, version, options.at))) continue;
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
      resourceType: version.resourceType,
      id: version.id,
      logIndex: version.logIndex,
      versionId: version.versionId,
      lastUpdated: version.lastUpdated,
      deleted: version.deleted,
      ...(resource === undefined ? {} : { resource: parts.store.served(resource, version, context) }),
    });
  }
  for (const [patient, breakGlass] of patients.size === 0 ? [['', false] as const] : patients) {
    await parts.store.commit([], { interaction: 'history-type', context, entity, patient, breakGlass });
  }
  return result;
}

/**
 * Whether a deleted version's metadata (type, id, version, time) may be listed: its compartment must be
 * one the requester sees, and the token's scopes must reach the type in that compartment (a token
 * launched for one patient lists no other patient's deletions; security review, session 29). With no
 * content to match, a granular scope (`?category=`) does not reach it: conservative.
 */
function deletedVersionVisible(
  parts: GatewayParts,
  requester: Parameters<GatewayParts['gate']['seesCompartment']>[0],
  context: AccessContext,
  interaction: 'history-instance' | 'history-type',
  version: { readonly resourceType: string; readonly patientId: string },
): boolean {
  if (!parts.gate.seesCompartment(requester, version.patientId)) return false;
  const bare = { resourceType: version.resourceType } as Resource;
  return evaluateTokenScopes(context, interaction, version.resourceType, {
    resource: bare,
    patientId: version.patientId,
  }).allowed;
}

/**
 * `_at` (R4 §3.1.0.10): whether the version was current at some point in [start, end): written before
 * the end, and not replaced (by its next version) before the start.
 */
async function wasCurrentIn(
  storage: RecordStorage,
  version: StoredVersion,
  at: { readonly start: number; readonly end: number },
): Promise<boolean> {
  if (Date.parse(version.lastUpdated) >= at.end) return false;
  const next = await storage.version(version.resourceType, version.id, version.versionId + 1);
  return next === undefined || Date.parse(next.lastUpdated) > at.start;
}

/** Pages through a type's (or every type's) versions newest first (no open cursor across awaits). */
async function* historyVersions(
  storage: RecordStorage,
  resourceType: string | undefined,
  since?: string,
  start?: number,
): AsyncGenerator<StoredVersion> {
  let before = start;
  for (;;) {
    const page = {
      ...(since === undefined ? {} : { since }),
      ...(before === undefined ? {} : { beforeLogIndex: before }),
      limit: 200,
    };
    const versions =
      resourceType === undefined
        ? await storage.systemHistory(page)
        : await storage.typeHistory(resourceType, page);
    yield* versions;
    if (versions.length < 200) return;
    before = versions.at(-1)?.logIndex;
  }
}
