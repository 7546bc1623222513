import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import type { Address } from 'viem';
import {
  type AccessPolicy,
  type BreakGlassPolicy,
  type BreakGlassSession,
  type BreakGlassSessions,
  patientLedgerAddress,
} from '../access/index.js';
import type { AccessContext, FhirInteraction } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import { assertPlausible } from '../fhir/assert-plausible.js';
import type { KeyedHash, SearchHandling } from '../fhir/search/index.js';
import { isContainedSearch } from '../fhir/search/plan-contained.js';
import { parseResource } from '../fhir/validate-resource.js';
import type { TransparencyLog } from '../log/index.js';
import { AccessGate } from './access-gate.js';
import { type AuditRecord, type DeniedAccess, loadAuditTrail, recordDenied } from './audit-trail.js';
import { type BeforeWrite, writeWithPermit } from './before-write.js';
import { BreakGlassService } from './break-glass-service.js';
import { BulkReadGateway } from './bulk-read-gateway.js';
import { type ErasureResult, erasePatient } from './erase-patient.js';
import type { GatewayParts } from './operations/gateway-parts.js';
import {
  type HistoryPageOptions,
  type InstanceHistoryEntry,
  readInstanceHistory,
  readTypeHistory,
  type TypeHistoryEntry,
} from './operations/history.js';
import {
  findPatientByLedgerAddress,
  identifyPatient,
  type PatientIdentification,
} from './operations/identify-patient.js';
import {
  type LedgerKeyLinkResult,
  type LedgerKeyProof,
  linkLedgerAddress,
  verifyLedgerAddressWrite,
} from './operations/link-ledger-address.js';
import { readPatientEverything } from './operations/patient-everything.js';
import { searchContained } from './operations/search-contained.js';
import { type IntegrityFailure, type SearchTypeResult, searchType } from './operations/search-type.js';
import {
  type ExpandOptions,
  type ExpandTarget,
  expandValueSetOperation,
} from './operations/search-value-set-expand.js';
import { runTransaction, type TransactionResult } from './operations/transaction.js';
import { verifyRecordMayBeSeen } from './operations/unseen-record.js';
import type { RecordStorage, StoredVersion } from './record-storage.js';
import { SealedRecordStore } from './sealed-record-store.js';
import type { VaultCrypto } from './vault-crypto.js';

export { compartmentPatient } from '../fhir/compartment/compartment-patient.js';
// Moved out of this file; re-exported so existing imports keep working.
export {
  auditEntryOf,
  formatAuditEntry,
  LOG_ENTRY_EXTENSION,
  verifyAuditEventCommitment,
  withLogEntry,
} from './audit-log-entry.js';
export type { AuditRecord } from './audit-trail.js';
export { formatVersionEntry } from './version-proof.js';

export interface FhirRepositoryOptions {
  readonly storage: RecordStorage;
  readonly crypto: VaultCrypto;
  readonly log: Pick<TransparencyLog, 'appendAll'>;
  /** The node as AuditEvent observer. */
  readonly observer: { readonly display: string; readonly origin: string };
  readonly now?: () => Date;
  readonly newId?: () => string;
  /** The access policy (src/access): staff roles, ledger consent, sensitivity labels, break-glass. */
  readonly policy: AccessPolicy;
  /** Break-glass sessions (the same store the policy reads). */
  readonly breakGlass: BreakGlassSessions;
  /** The node's break-glass policy (node.json `breakGlass`); unset parts take the defaults. */
  readonly breakGlassPolicy?: Partial<BreakGlassPolicy>;
  /**
   * Told, after a create, update or transaction has committed, which resources it stored (the node
   * announces patients on the ledger's RecordLocator). A throw is caught: the write has succeeded.
   */
  readonly onStored?: (resources: readonly Resource[]) => void;
  /** Told, after an erasure has committed, the ledger address the erased Patient carried (if any). */
  /**
   * Called, and awaited, before a patient's keys are destroyed (the address cannot be read after):
   * the record locator puts its withdrawal in the durable outbox first, so a crash during the erasure
   * cannot leave the pointer behind (an erasure cut short is re-run; the start-up sweep re-announces a
   * patient whose records are still there).
   */
  readonly onPatientErased?: (patientId: string, ledgerAddress: Address | undefined) => void | Promise<void>;
  /** Asked before any version of a resource is written, by every path (see before-write.ts). */
  readonly beforeWrite?: BeforeWrite;
  /** Told of a stored record that failed its integrity check during a search (ids only; audited too). */
  readonly onIntegrityFailure?: (failure: IntegrityFailure) => void;
}

/**
 * The FHIR vault: versioned resources sealed with per-patient keys, every version's keyed hash and an
 * AuditEvent for every interaction in the transparency log, each written in the same transaction as
 * the data it describes. Access decisions are the caller's (policy); this layer records them.
 */
export class FhirRepository {
  private readonly now: () => Date;
  private readonly newId: () => string;
  private readonly searchHash: KeyedHash;
  private readonly store: SealedRecordStore;
  private readonly gate: AccessGate;
  private readonly breakGlass: BreakGlassService;
  private readonly parts: GatewayParts;

  constructor(private readonly options: FhirRepositoryOptions) {
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? randomUUID;
    this.store = new SealedRecordStore({
      storage: options.storage,
      crypto: options.crypto,
      log: options.log,
      observer: options.observer,
      now: this.now,
      newId: this.newId,
    });
    this.searchHash = this.store.searchHash;
    this.gate = new AccessGate(options.policy, this.store);
    this.breakGlass = new BreakGlassService(
      this.store,
      this.gate,
      options.breakGlass,
      options.breakGlassPolicy,
    );
    this.parts = { store: this.store, gate: this.gate };
  }

  /** ValueSet/$expand (R4 valueset-operation-expand.html): see operations/search-value-set-expand.ts. */
  expandValueSet(
    target: ExpandTarget,
    context: AccessContext,
    options: ExpandOptions,
  ): Promise<Record<string, unknown>> {
    return expandValueSetOperation(this.parts, target, context, options);
  }

  /** FHIR search (R4 §3.1.1): see searchType (src/vault/operations/search-type.ts). */
  async search(
    resourceType: string,
    query: URLSearchParams,
    context: AccessContext,
    options: { handling: SearchHandling },
  ): Promise<SearchTypeResult> {
    if (isContainedSearch(query)) return searchContained(this.parts, resourceType, query, context, options);
    return searchType(this.parts, resourceType, query, context, {
      ...options,
      ...(this.options.onIntegrityFailure === undefined
        ? {}
        : { onIntegrityFailure: this.options.onIntegrityFailure }),
    });
  }

  async create(input: unknown, context: AccessContext): Promise<Resource> {
    const parsed = parseResource(input);
    const requester = await this.gate.admit('create', context, { resourceType: parsed.resourceType });
    const resource = { ...parsed, id: this.newId() } as Resource;
    const breakGlass = await this.gate.admitWrite(requester, context, 'create', resource);
    await verifyLedgerAddressWrite(this.parts, 'create', context, undefined, resource);
    return this.store.withLock(`${resource.resourceType}/${resource.id}`, async () =>
      this.writeVersion(resource, 1, 'create', context, breakGlass),
    );
  }

  /**
   * Conditional create (R4 §3.1.0.8, `If-None-Exist`): no match creates, one match returns it unchanged,
   * several are a 412. Conditional creates of one type are serialised, so two identical requests cannot
   * both create.
   */
  async conditionalCreate(
    input: unknown,
    condition: URLSearchParams,
    context: AccessContext,
  ): Promise<{ resource: Resource; created: boolean }> {
    const resource = parseResource(input);
    return this.store.withLock(`conditional-create:${resource.resourceType}`, async () => {
      const found = await this.search(resource.resourceType, condition, context, { handling: 'strict' });
      if (found.resources.length > 1) {
        throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'If-None-Exist matches more than one resource');
      }
      const existing = found.resources[0];
      if (existing !== undefined) return { resource: existing, created: false };
      return { resource: await this.create(input, context), created: true };
    });
  }

  /** Update, or create with a client-chosen id (FHIR update-as-create). `ifMatch` is a versionId. */
  async update(
    input: unknown,
    context: AccessContext,
    options: { ifMatch?: string } = {},
  ): Promise<{ resource: Resource; created: boolean }> {
    const resource = parseResource(input);
    const requester = await this.gate.admit('update', context, { resourceType: resource.resourceType });
    if (resource.id === undefined)
      throw new CareLedgerError('ERR_INVALID_INPUT', 'an update needs the resource id');
    return this.store.withLock(`${resource.resourceType}/${resource.id}`, async () => {
      const current = await this.options.storage.current(resource.resourceType, resource.id as string);
      const replaced = current === undefined || current.deleted ? undefined : await this.store.open(current);
      // Both the version replaced and the new one must be the requester's to write.
      if (current !== undefined && replaced !== undefined) {
        await this.gate.admitReplace(requester, context, 'update', replaced, current.patientId);
      }
      const breakGlass = await this.gate.admitWrite(requester, context, 'update', resource);
      await verifyLedgerAddressWrite(this.parts, 'update', context, replaced, resource);
      if (options.ifMatch !== undefined && String(current?.versionId ?? '') !== options.ifMatch) {
        throw new CareLedgerError(
          'ERR_PRECONDITION_FAILED',
          'the resource has changed since that version (If-Match)',
          {
            details: { currentVersion: current?.versionId ?? 0 },
          },
        );
      }
      const versionId = (current?.versionId ?? 0) + 1;
      const interaction = current === undefined ? 'create' : 'update';
      return {
        resource: await this.writeVersion(resource, versionId, interaction, context, breakGlass),
        created: current === undefined,
      };
    });
  }

  /**
   * The one resource a conditional interaction's search names (R4 §3.1.0.4.3, §3.1.0.7.1): undefined
   * for none, a 412 for several. The search is strict, so an unknown parameter is a 400, never a
   * condition silently widened to "everything".
   */
  private async matchOne(
    resourceType: string,
    condition: URLSearchParams,
    context: AccessContext,
  ): Promise<Resource | undefined> {
    if ([...condition.keys()].filter((k) => !k.startsWith('_') || k === '_id').length === 0) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a conditional interaction needs search criteria', {
        details: { parameter: 'condition' },
      });
    }
    const found = await this.search(resourceType, condition, context, { handling: 'strict' });
    if (found.resources.length > 1) {
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'the condition matches more than one resource');
    }
    return found.resources[0];
  }

  /**
   * Conditional update (R4 §3.1.0.4.3, `PUT Type?search`): no match creates (with the body's id if
   * it has one), one match is updated (a body id must be that match's), several are a 412.
   */
  async conditionalUpdate(
    input: unknown,
    condition: URLSearchParams,
    context: AccessContext,
    options: { ifMatch?: string } = {},
  ): Promise<{ resource: Resource; created: boolean }> {
    const resource = parseResource(input);
    return this.store.withLock(`conditional-create:${resource.resourceType}`, async () => {
      const match = await this.matchOne(resource.resourceType, condition, context);
      if (match === undefined) {
        if (resource.id !== undefined) return this.update(resource, context, options);
        return { resource: await this.create(resource, context), created: true };
      }
      if (resource.id !== undefined && resource.id !== match.id) {
        throw new CareLedgerError(
          'ERR_INVALID_INPUT',
          'the body id is not the id of the resource the condition matches',
          {
            details: { parameter: 'id' },
          },
        );
      }
      return this.update({ ...resource, id: match.id }, context, options);
    });
  }

  /** Conditional delete (R4 §3.1.0.7.1, single): deletes the one match; none deletes nothing; several are a 412. */
  async conditionalDelete(
    resourceType: string,
    condition: URLSearchParams,
    context: AccessContext,
  ): Promise<number> {
    // May this requester delete this type at all, before any search: a 204 or a 403 by what matched
    // would tell a patient what the criteria find (security review F4).
    await this.gate.admit('delete', context, { resourceType });
    return this.store.withLock(`conditional-create:${resourceType}`, async () => {
      const match = await this.matchOne(resourceType, condition, context);
      if (match?.id === undefined) return 0;
      await this.delete(resourceType, match.id, context);
      return 1;
    });
  }

  /** Conditional patch (R4 §3.1.0.5): patches the one match; none is a 404, several a 412. */
  async conditionalPatch(
    resourceType: string,
    condition: URLSearchParams,
    apply: (current: Resource) => Resource,
    context: AccessContext,
    options: { ifMatch?: string } = {},
  ): Promise<Resource> {
    // As a conditional delete: the interaction is admitted before the search (security review F4).
    await this.gate.admit('update', context, { resourceType });
    const match = await this.matchOne(resourceType, condition, context);
    if (match?.id === undefined) {
      throw new CareLedgerError('ERR_NOT_FOUND', 'the condition matches no resource');
    }
    return this.patch(resourceType, match.id, apply, context, options);
  }

  /**
   * PATCH (R4 §3.1.0.5): `apply` turns the current version into the next (JSON Patch or FHIRPath
   * Patch, src/fhir/patch), which is validated and written as an update under the same lock, so the
   * patch applies to exactly the version it was checked against. `ifMatch` is a versionId.
   */
  async patch(
    resourceType: string,
    id: string,
    apply: (current: Resource) => Resource,
    context: AccessContext,
    options: { ifMatch?: string } = {},
  ): Promise<Resource> {
    const requester = await this.gate.admit('update', context, { resourceType });
    return this.store.withLock(`${resourceType}/${id}`, async () => {
      const current = await this.options.storage.current(resourceType, id);
      const live = current === undefined || current.deleted ? undefined : current;
      // Another member or a patient: a record it may not see answers as a made-up id does (unseen-record.ts).
      await verifyRecordMayBeSeen(this.parts, requester, context, 'update', {
        resourceType,
        id,
        patientId: live?.patientId,
        entity: `${resourceType}/${id}`,
      });
      if (live === undefined) {
        throw new CareLedgerError('ERR_NOT_FOUND', `${resourceType}/${id} does not exist`);
      }
      const old = await this.store.open(live);
      await this.gate.admitReplace(requester, context, 'update', old, live.patientId);
      if (options.ifMatch !== undefined && String(live.versionId) !== options.ifMatch) {
        throw new CareLedgerError(
          'ERR_PRECONDITION_FAILED',
          'the resource has changed since that version (If-Match)',
          {
            details: { currentVersion: live.versionId },
          },
        );
      }
      const patched = apply(old) as Resource & { meta?: Record<string, unknown> };
      if (patched.resourceType !== resourceType || patched.id !== id) {
        throw new CareLedgerError('ERR_UNPROCESSABLE', 'a patch may not change the resource type or id', {
          details: { parameter: 'body' },
        });
      }
      // The server owns versionId and lastUpdated; a patch of them is overwritten, not trusted.
      const { meta: patchedMeta, ...rest } = patched;
      const { versionId: _v, lastUpdated: _l, ...meta } = patchedMeta ?? {};
      const resource = parseResource(Object.keys(meta).length === 0 ? rest : { ...rest, meta });
      const breakGlass = await this.gate.admitWrite(requester, context, 'update', resource);
      await verifyLedgerAddressWrite(this.parts, 'update', context, old, resource);
      return this.writeVersion(resource, live.versionId + 1, 'update', context, breakGlass);
    });
  }

  async delete(resourceType: string, id: string, context: AccessContext): Promise<void> {
    const requester = await this.gate.admit('delete', context, {
      entity: `${resourceType}/${id}`,
      resourceType,
    });
    await this.store.withLock(`${resourceType}/${id}`, async () => {
      const current = await this.options.storage.current(resourceType, id);
      if (current === undefined || current.deleted) return; // FHIR: deleting a deleted resource succeeds
      const breakGlass = await this.gate.admitReplace(
        requester,
        context,
        'delete',
        await this.store.open(current),
        current.patientId,
      );
      const versionId = current.versionId + 1;
      const versionHash = this.store.versionHash(resourceType, id, versionId, '');
      const lastUpdated = this.now().toISOString();
      const version: Omit<StoredVersion, 'logIndex'> = {
        resourceType,
        id,
        versionId,
        patientId: current.patientId,
        lastUpdated,
        deleted: true,
        sealed: null,
        versionHash,
        commitmentSalt: null,
      };
      await this.store.commit([version], {
        interaction: 'delete',
        context,
        entity: `${resourceType}/${id}/_history/${versionId}`,
        patient: current.patientId,
        breakGlass,
      });
    });
  }

  async read(resourceType: string, id: string, context: AccessContext): Promise<Resource> {
    const current = await this.options.storage.current(resourceType, id);
    return this.readVersion(current, 'read', context, resourceType, id);
  }

  async vread(
    resourceType: string,
    id: string,
    versionId: number,
    context: AccessContext,
  ): Promise<Resource> {
    const version = await this.options.storage.version(resourceType, id, versionId);
    return this.readVersion(version, 'vread', context, resourceType, id);
  }

  /** Versions newest first; a deleted version is `{ deleted: true }` with its metadata. */
  history(resourceType: string, id: string, context: AccessContext): Promise<InstanceHistoryEntry[]> {
    return readInstanceHistory(this.parts, resourceType, id, context);
  }

  /** Type history (R4 §3.1.0.10.1), or system history for an undefined type: see operations/history.ts. */
  typeHistory(
    resourceType: string | undefined,
    context: AccessContext,
    options: HistoryPageOptions,
  ): Promise<TypeHistoryEntry[]> {
    return readTypeHistory(this.parts, resourceType, context, options);
  }

  /** Patient/{id}/$everything (R4 §Patient-operation-everything): see operations/patient-everything.ts. */
  everything(patientId: string, context: AccessContext, types: readonly string[]): Promise<Resource[]> {
    return readPatientEverything(this.parts, patientId, context, types);
  }

  /** A FHIR transaction Bundle (R4 §3.1.0.11.2): see operations/transaction.ts. */
  transaction(input: unknown, context: AccessContext): Promise<TransactionResult[]> {
    return runTransaction(
      {
        ...this.parts,
        crypto: this.options.crypto,
        notifyStored: (stored) => this.notifyStored(stored),
        ...(this.options.beforeWrite === undefined ? {} : { beforeWrite: this.options.beforeWrite }),
      },
      input,
      context,
    );
  }

  /** Break-glass: see BreakGlassService.declare (`minutes` unset: the policy's default window). */
  declareBreakGlass(
    patientId: string,
    reason: string,
    context: AccessContext,
    minutes?: number,
  ): Promise<BreakGlassSession> {
    return this.breakGlass.declare(patientId, reason, context, minutes);
  }

  /** Break-glass review: see BreakGlassService.review. */
  reviewBreakGlass(
    sessionId: string,
    review: { outcome: 'justified' | 'not-justified'; note: string },
    context: AccessContext,
  ): Promise<BreakGlassSession> {
    return this.breakGlass.review(sessionId, review, context);
  }

  /** Break-glass sessions, for the privacy officer (all) or a patient (their own). */
  listBreakGlass(context: AccessContext, filter: { unreviewed?: boolean }): Promise<BreakGlassSession[]> {
    return this.breakGlass.list(context, filter);
  }

  /** Crypto-shredding of a patient's records: see erase-patient.ts. */
  erasePatient(patientId: string, context: AccessContext): Promise<ErasureResult> {
    return erasePatient(
      {
        store: this.store,
        crypto: this.options.crypto,
        ...(this.options.onPatientErased === undefined
          ? {}
          : { onPatientErased: this.options.onPatientErased }),
      },
      patientId,
      context,
    );
  }

  /** Records a refused access (the policy's decision) in the log, with its reason. */
  recordDenied(interaction: FhirInteraction, context: AccessContext, target: DeniedAccess): Promise<void> {
    return recordDenied(this.store, interaction, context, target);
  }

  /** A patient's AuditEvents, oldest first, each with its log index and commitment salt. */
  auditTrail(patientId: string): Promise<AuditRecord[]> {
    return loadAuditTrail(this.store, patientId);
  }

  /**
   * Key enrolment (issue 14 item 12): links the key `proof` proves possession of to the Patient, or
   * with no proof unlinks it (privacy officer); see operations/link-ledger-address.ts.
   */
  async linkLedgerAddress(
    patientId: string,
    proof: LedgerKeyProof | undefined,
    context: AccessContext,
  ): Promise<LedgerKeyLinkResult> {
    const result = await linkLedgerAddress(this.parts, patientId, proof, context);
    if (result.changed) this.notifyStored([result.patient]);
    return result;
  }

  /** The gateway bulk `$export` (src/export) reads through: this vault's access gate and sealed store. */
  bulkReadGateway(): BulkReadGateway {
    return new BulkReadGateway(this.gate, this.store);
  }

  private async readVersion(
    version: StoredVersion | undefined,
    interaction: 'read' | 'vread',
    context: AccessContext,
    resourceType: string,
    id: string,
  ): Promise<Resource> {
    const notFound = () => new CareLedgerError('ERR_NOT_FOUND', `${resourceType}/${id} does not exist`);
    // Admitted first, so a requester refused outright gets 403 whether or not the record exists.
    const requester = await this.gate.admit(interaction, context, {
      entity:
        version === undefined
          ? `${resourceType}/${id}`
          : `${resourceType}/${id}/_history/${version.versionId}`,
      ...(version === undefined ? {} : { patient: version.patientId }),
      resourceType,
    });
    // Another member or a patient: what it may not see costs what a made-up id costs (unseen-record.ts).
    await verifyRecordMayBeSeen(this.parts, requester, context, interaction, {
      resourceType,
      id,
      patientId: version?.patientId,
      entity:
        version === undefined
          ? `${resourceType}/${id}`
          : `${resourceType}/${id}/_history/${version.versionId}`,
    });
    if (version === undefined) throw notFound();
    const entity = `${resourceType}/${id}/_history/${version.versionId}`;
    /**
     * Issue 14 item 5 (docs/decisions/0005-access-policy.md): only the node's own staff may learn that a
     * record they may not read exists (403); another member or a patient gets the answer a record that
     * does not exist gets (404). The denial is audited in the patient's history either way.
     */
    const refuse = async (reason: string): Promise<never> => {
      if (requester.kind === 'staff')
        return this.gate.refuse(interaction, context, { entity, patient: version.patientId, reason });
      await recordDenied(this.store, interaction, context, { entity, patient: version.patientId, reason });
      throw notFound();
    };
    if (version.deleted) {
      if (!this.gate.seesCompartment(requester, version.patientId))
        await refuse("outside the requester's records");
      throw new CareLedgerError('ERR_GONE', `${resourceType}/${id} was deleted`, {
        details: { reason: 'deleted', versionId: version.versionId },
      });
    }
    const opened = await this.store.open(version);
    const decision = await this.gate.decide(
      requester,
      context,
      interaction,
      version.patientId,
      opened,
      new Map(),
    );
    if (!decision.allowed) await refuse(decision.reason);
    await this.store.commit([], {
      interaction,
      context,
      entity,
      patient: version.patientId,
      breakGlass: decision.allowed && decision.breakGlass,
    });
    return this.store.served(opened, version, context);
  }

  /**
   * `meta.source` of a resource's current version, read by the node itself (no requester, so no
   * AuditEvent): how a pull from another member knows it already holds that member's version.
   */
  async currentSource(resourceType: string, id: string): Promise<string | undefined> {
    const current = await this.options.storage.current(resourceType, id);
    if (current === undefined || current.deleted) return undefined;
    return (await this.store.openUnlessErased(current))?.meta?.source;
  }

  /**
   * This node's current Patient carrying a ledger address (the identifier in LEDGER_ADDRESS_SYSTEM),
   * found through the blind index: how a patient's own signed assertion names their record here.
   */
  async patientIdByLedgerAddress(address: Address): Promise<string | undefined> {
    return findPatientByLedgerAddress(this.store, address);
  }

  /** Patient/$identify: another member matches a ledger address here (operations/identify-patient.ts). */
  identifyPatient(address: Address, context: AccessContext): Promise<PatientIdentification> {
    return identifyPatient(this.parts, address, context);
  }

  /** Seals and commits a new version (SealedRecordStore.writeVersion), then tells `onStored`. */
  private async writeVersion(
    resource: Resource,
    versionId: number,
    interaction: 'create' | 'update',
    context: AccessContext,
    breakGlass = false,
  ): Promise<Resource> {
    // Issue 22: no path (create, update, PATCH, conditional) stores a value no person can have.
    assertPlausible(resource as unknown as Record<string, unknown>);
    // Issue 19: the supply module checks a dispensed pack here and may refuse the write.
    const stored = await writeWithPermit(this.options.beforeWrite, resource, context, () =>
      this.store.writeVersion(resource, versionId, interaction, context, breakGlass),
    );
    this.notifyStored([stored]);
    return stored;
  }

  private notifyStored(resources: readonly Resource[]): void {
    if (resources.length === 0) return;
    try {
      this.options.onStored?.(resources);
    } catch {
      // The write has committed; the listener's failure is its own to report.
    }
  }

  /**
   * The ledger addresses of the current, readable Patients (not deleted, not erased): the node
   * announces them on RecordLocator at start. Decrypts only Patient resources.
   */
  async patientLedgerAddresses(): Promise<Address[]> {
    const addresses = new Set<Address>();
    for (const version of await this.options.storage.listCurrent('Patient')) {
      const address = patientLedgerAddress(await this.store.openUnlessErased(version));
      if (address !== undefined) addresses.add(address);
    }
    return [...addresses];
  }
}
