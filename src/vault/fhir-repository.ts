import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { AuditEvent, Resource } from '@medplum/fhirtypes';
import { type Address, getAddress } from 'viem';
import {
  type AccessPolicy,
  type BreakGlassSession,
  type BreakGlassStore,
  evaluateTokenScopes,
  LEDGER_ADDRESS_SYSTEM,
  parseRequester,
  patientLedgerAddress,
  type Requester,
  type ResourceDecision,
} from '../access/index.js';
import { type AccessContext, createAuditEvent, type FhirInteraction } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import { rewriteBundleReferences } from '../fhir/bundle/index.js';
import { canonicalJson } from '../fhir/canonical-json.js';
import { evaluateSearchParam, extractReferences } from '../fhir/search/extract-search-values.js';
import {
  extractSearchIndexEntries,
  getSearchParam,
  isSearchableResourceType,
  type KeyedHash,
  matchesSearch,
  planSearch,
  type SearchHandling,
  type SearchIndexEntry,
  sortResources,
} from '../fhir/search/index.js';
import { parseResource } from '../fhir/validate-resource.js';
import type { TransparencyLog } from '../log/index.js';
import { NODE_KEY_PATIENT_ID } from './data-key-store.js';
import type { SealedRecord } from './record-cipher.js';
import type { RecordStorage, StoredVersion } from './record-storage.js';
import type { VaultCrypto } from './vault-crypto.js';
import { computeVersionHash, formatVersionEntry, withVersionProof } from './version-proof.js';

export interface FhirRepositoryOptions {
  readonly storage: RecordStorage;
  readonly crypto: VaultCrypto;
  readonly log: TransparencyLog;
  /** The node as AuditEvent observer. */
  readonly observer: { readonly display: string; readonly origin: string };
  readonly now?: () => Date;
  readonly newId?: () => string;
  /** The access policy (src/access): staff roles, ledger consent, sensitivity labels, break-glass. */
  readonly policy: AccessPolicy;
  /** Break-glass sessions (the same store the policy reads). */
  readonly breakGlass: BreakGlassStore;
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
}

/** Per-request memo of patients' ledger addresses (each Patient is decrypted once per request). */
type AddressMemo = Map<string, Promise<Address | undefined>>;

/** What one AuditEvent of a commit records. */
interface AuditSpec {
  readonly interaction: FhirInteraction;
  readonly context: AccessContext;
  readonly entity?: string;
  /** The patient concerned, '' for none. */
  readonly patient: string;
  readonly outcome?: 'success' | 'denied' | 'failed';
  readonly outcomeDescription?: string;
  /** The access used a break-glass window: the AuditEvent is marked (DICOM 110127). */
  readonly breakGlass?: boolean;
  readonly breakGlassStopped?: boolean;
  readonly purposeText?: string;
  /** A preset AuditEvent id (when another row written in the same commit refers to it). */
  readonly id?: string;
}

/** An AuditEvent as the vault keeps it, with what a patient needs to check it against the log. */
export interface AuditRecord {
  readonly auditEvent: AuditEvent;
  readonly logIndex: number;
  /** The salt of the log commitment: entry = {"t":"audit","c":hex(SHA-256(salt ‖ canonical JSON))}. */
  readonly salt: Uint8Array;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export { formatVersionEntry } from './version-proof.js';

/**
 * The log entry for an AuditEvent: a salted commitment. Tiles are public (mirrors, auditors), so the
 * entry must not reveal who read whose record; the patient, given the AuditEvent and the salt, can
 * recompute it and check the inclusion proof.
 */
export function formatAuditEntry(auditEvent: AuditEvent, salt: Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(salt).update(canonicalJson(auditEvent)).digest('hex');
  return encoder.encode(JSON.stringify({ t: 'audit', c: digest }));
}

/** The extension CareLedger adds to an AuditEvent it serves: where its commitment is in the log. */
export const LOG_ENTRY_EXTENSION = 'https://careledger.dev/fhir/StructureDefinition/log-entry';

/**
 * An AuditEvent as served: with its log index, the path of its tlog-proof and the commitment's salt,
 * in the LOG_ENTRY_EXTENSION extension. Verifying it: remove that extension, take the canonical JSON,
 * SHA-256(salt ‖ JSON) must be the `c` of the log entry at that index, and the tlog-proof must verify
 * (see `verifyAuditEventCommitment`). Other resources are returned as they are.
 */
export function withLogEntry(resource: Resource, version: StoredVersion | undefined): Resource {
  if (resource.resourceType !== 'AuditEvent' || version === undefined || version.commitmentSalt === null)
    return resource;
  return {
    ...resource,
    extension: [
      ...(resource.extension ?? []),
      {
        url: LOG_ENTRY_EXTENSION,
        extension: [
          { url: 'index', valueInteger: version.logIndex },
          { url: 'proof', valueUrl: `/log/proof/${version.logIndex}` },
          { url: 'salt', valueBase64Binary: Buffer.from(version.commitmentSalt).toString('base64') },
        ],
      },
    ],
  } as Resource;
}

/** Checks a served AuditEvent against the bytes of its log entry; throws ERR_LOG_PROOF_INVALID if not. */
export function verifyAuditEventCommitment(served: AuditEvent, entry: Uint8Array): void {
  if (decoder.decode(auditEntryOf(served)) !== decoder.decode(entry)) {
    throw new CareLedgerError('ERR_LOG_PROOF_INVALID', 'the AuditEvent does not match its log entry', {
      details: { reason: 'commitment-mismatch' },
    });
  }
}

/** The log entry a served AuditEvent commits to, recomputed from its content and salt. */
export function auditEntryOf(served: AuditEvent): Uint8Array {
  const ext = served.extension?.find((e) => e.url === LOG_ENTRY_EXTENSION);
  const salt = ext?.extension?.find((e) => e.url === 'salt')?.valueBase64Binary;
  if (salt === undefined) {
    throw new CareLedgerError('ERR_LOG_PROOF_INVALID', 'the AuditEvent carries no log entry', {
      details: { reason: 'no-log-entry' },
    });
  }
  const rest = (served.extension ?? []).filter((e) => e.url !== LOG_ENTRY_EXTENSION);
  const { extension: _drop, ...withoutExtensions } = served;
  const original = (
    rest.length === 0 ? withoutExtensions : { ...withoutExtensions, extension: rest }
  ) as AuditEvent;
  return formatAuditEntry(original, Buffer.from(salt, 'base64'));
}

/** The patient whose compartment a resource is in, or '' for none (Organization, Practitioner, …). */
export function compartmentPatient(resource: Resource): string {
  if (resource.resourceType === 'Patient') return resource.id ?? '';
  const r = resource as unknown as Record<string, { reference?: string } | undefined>;
  for (const field of ['patient', 'subject', 'beneficiary']) {
    const reference = r[field]?.reference;
    if (typeof reference === 'string' && reference.startsWith('Patient/'))
      return reference.slice('Patient/'.length);
  }
  if (resource.resourceType === 'Provenance') {
    // R4 Provenance compartment: `patient` is the target that is a Patient.
    const target = resource.target.find((t) => t.reference?.startsWith('Patient/'))?.reference;
    if (target !== undefined) return target.slice('Patient/'.length);
  }
  if (resource.resourceType === 'AuditEvent') {
    const patient = resource.entity?.find((e) => e.role?.code === '1')?.what?.reference;
    if (patient?.startsWith('Patient/')) return patient.slice('Patient/'.length);
  }
  return NODE_KEY_PATIENT_ID;
}

/**
 * AuditEvents are sealed under the node's key, not the patient's: erasing a patient's records must
 * not erase the record of who accessed them (audit retention outlives the data).
 */
function keyOwner(resourceType: string, patientId: string): string {
  return resourceType === 'AuditEvent' ? NODE_KEY_PATIENT_ID : patientId;
}

/**
 * The FHIR vault: versioned resources sealed with per-patient keys, every version's keyed hash and an
 * AuditEvent for every interaction in the transparency log, each written in the same transaction as
 * the data it describes. Access decisions are the caller's (policy); this layer records them.
 */
export class FhirRepository {
  private readonly now: () => Date;
  private readonly newId: () => string;
  private readonly locks = new Map<string, Promise<unknown>>();

  private readonly searchHash: KeyedHash;

  constructor(private readonly options: FhirRepositoryOptions) {
    this.now = options.now ?? (() => new Date());
    this.newId = options.newId ?? randomUUID;
    // Blind-index hashes: the node's keyed hash, so equal values are findable but not readable.
    this.searchHash = (value) => Buffer.from(options.crypto.keyedHash(value)).toString('hex');
  }

  /**
   * FHIR search (R4 §3.1.1): the blind index narrows candidates in SQL, the rest of the query is
   * evaluated on the decrypted candidates, then sorted and paged. Each patient whose data is returned
   * gets an AuditEvent naming the query's parameters (never their values).
   */
  async search(
    resourceType: string,
    query: URLSearchParams,
    context: AccessContext,
    options: { handling: SearchHandling },
  ): Promise<{
    resources: Resource[];
    /** `_include` / `_revinclude` results (search mode "include"), within the requester's scope. */
    included: Resource[];
    total?: number;
    ignored: readonly string[];
    offset: number;
    count: number;
  }> {
    const plan = planSearch(resourceType, query, this.searchHash, {
      handling: options.handling,
      now: this.now().getTime(),
    });
    const ignored = [...plan.ignored];
    if (
      plan.include.some((t) => t.modifier !== undefined) ||
      plan.revinclude.some((t) => t.modifier !== undefined)
    ) {
      if (options.handling === 'strict') {
        throw new CareLedgerError('ERR_INVALID_INPUT', ':iterate is not supported', {
          details: { parameter: '_include' },
        });
      }
      ignored.push(':iterate');
    }
    const requester = await this.admit('search-type', context, { entity: `${resourceType}?`, resourceType });
    const memo: AddressMemo = new Map();
    const breakGlassPatients = new Set<string>();
    /** Another member's refused search still leaves a denial in the patient's own history. */
    const refusedPatients = new Map<string, string>();
    // Refused resources are dropped before matching is counted: neither they nor their number leak.
    const visible = async (version: StoredVersion, resource: Resource): Promise<boolean> => {
      const decision = await this.decide(
        requester,
        context,
        'search-type',
        version.patientId,
        resource,
        memo,
      );
      if (decision.allowed && decision.breakGlass) breakGlassPatients.add(version.patientId);
      if (!decision.allowed && context.member !== undefined && !refusedPatients.has(version.patientId))
        refusedPatients.set(version.patientId, decision.reason);
      return decision.allowed;
    };
    const candidates = await this.options.storage.searchCandidates(resourceType, plan.indexFilters, plan.id);
    const matches: { resource: Resource; patientId: string; version: StoredVersion }[] = [];
    for (const candidate of candidates) {
      if (requester.kind === 'patient' && candidate.patientId !== requester.patientId) continue;
      const resource = await this.openUnlessErased(candidate);
      if (resource === undefined) continue;
      if (matchesSearch(resource, plan) && (await visible(candidate, resource)))
        matches.push({ resource, patientId: candidate.patientId, version: candidate });
    }
    const sorted =
      plan.sort.length === 0
        ? matches.map((m) => m.resource)
        : sortResources(
            matches.map((m) => m.resource),
            plan.sort,
          );
    const page = sorted.slice(plan.offset, plan.offset + plan.count);
    const patientOf = new Map(matches.map((m) => [m.resource, m.patientId]));
    const included = await this.resolveIncludes(page, plan, visible, context);
    for (const { resource, patientId } of included) patientOf.set(resource, patientId);
    const patients = new Set(
      [...page, ...included.map((i) => i.resource)].map((r) => patientOf.get(r) ?? ''),
    );
    const entity = `${resourceType}?${[...new Set([...query.keys()])].sort().join(',')}`;
    for (const [patient, reason] of refusedPatients) {
      if (patients.has(patient)) continue;
      await this.commit([], {
        interaction: 'search-type',
        context,
        entity,
        patient,
        outcome: 'denied',
        outcomeDescription: reason,
      });
    }
    for (const patient of patients.size === 0 ? [''] : patients) {
      await this.commit([], {
        interaction: 'search-type',
        context,
        entity,
        patient,
        breakGlass: breakGlassPatients.has(patient),
      });
    }
    const versionOf = new Map(matches.map((m) => [m.resource, m.version]));
    return {
      resources: page.map((r) => this.served(r, versionOf.get(r), context)),
      included: included.map((i) => i.resource),
      ...(plan.total === 'accurate' ? { total: sorted.length } : {}),
      ignored,
      offset: plan.offset,
      count: plan.count,
    };
  }

  /**
   * `_include` (the resources the page's references point to, through the named search parameter) and
   * `_revinclude` (resources of another type whose parameter points at a page resource), each filtered
   * by the requester's scope like the page itself. Not iterated (`:iterate` is refused).
   */
  private async resolveIncludes(
    page: readonly Resource[],
    plan: ReturnType<typeof planSearch>,
    visible: (version: StoredVersion, resource: Resource) => Promise<boolean>,
    context: AccessContext,
  ): Promise<{ resource: Resource; patientId: string }[]> {
    const seen = new Set(page.map((r) => `${r.resourceType}/${r.id}`));
    const out: { resource: Resource; patientId: string }[] = [];
    const add = async (version: StoredVersion | undefined) => {
      if (version === undefined || version.deleted) return;
      const key = `${version.resourceType}/${version.id}`;
      if (seen.has(key)) return;
      seen.add(key);
      const resource = await this.openUnlessErased(version);
      if (resource === undefined || !(await visible(version, resource))) return;
      out.push({ resource: this.served(resource, version, context), patientId: version.patientId });
    };
    for (const target of plan.include) {
      const param = getSearchParam(target.resourceType, target.searchParam);
      if (param === undefined) continue;
      for (const resource of page.filter((r) => r.resourceType === target.resourceType)) {
        for (const ref of extractReferences(evaluateSearchParam(resource, param))) {
          const [type, id] = ref.normalized.split('/');
          if (type === undefined || id === undefined || ref.id === undefined) continue;
          if (target.targetType !== undefined && target.targetType !== type) continue;
          await add(await this.options.storage.current(type, id));
        }
      }
    }
    for (const target of plan.revinclude) {
      for (const resource of page) {
        const reverse = planSearch(
          target.resourceType,
          new URLSearchParams({ [target.searchParam]: `${resource.resourceType}/${resource.id}` }),
          this.searchHash,
          { handling: 'lenient', now: plan.now },
        );
        for (const candidate of await this.options.storage.searchCandidates(
          target.resourceType,
          reverse.indexFilters,
        )) {
          const resource = await this.openUnlessErased(candidate);
          if (resource !== undefined && matchesSearch(resource, reverse)) await add(candidate);
        }
      }
    }
    return out;
  }

  private indexEntries(resource: Resource): SearchIndexEntry[] {
    return isSearchableResourceType(resource.resourceType)
      ? extractSearchIndexEntries(resource, this.searchHash)
      : [];
  }

  async create(input: unknown, context: AccessContext): Promise<Resource> {
    const parsed = parseResource(input);
    const requester = await this.admit('create', context, { resourceType: parsed.resourceType });
    const resource = { ...parsed, id: this.newId() } as Resource;
    const breakGlass = await this.admitWrite(requester, context, 'create', resource);
    return this.withLock(`${resource.resourceType}/${resource.id}`, () =>
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
    return this.withLock(`conditional-create:${resource.resourceType}`, async () => {
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
    const requester = await this.admit('update', context, { resourceType: resource.resourceType });
    if (resource.id === undefined)
      throw new CareLedgerError('ERR_INVALID_INPUT', 'an update needs the resource id');
    return this.withLock(`${resource.resourceType}/${resource.id}`, async () => {
      const current = await this.options.storage.current(resource.resourceType, resource.id as string);
      // Both the version replaced and the new one must be the requester's to write.
      if (current !== undefined && !current.deleted) {
        await this.admitWrite(requester, context, 'update', await this.open(current), current.patientId);
      }
      const breakGlass = await this.admitWrite(requester, context, 'update', resource);
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

  async delete(resourceType: string, id: string, context: AccessContext): Promise<void> {
    const requester = await this.admit('delete', context, { entity: `${resourceType}/${id}`, resourceType });
    await this.withLock(`${resourceType}/${id}`, async () => {
      const current = await this.options.storage.current(resourceType, id);
      if (current === undefined || current.deleted) return; // FHIR: deleting a deleted resource succeeds
      const breakGlass = await this.admitWrite(
        requester,
        context,
        'delete',
        await this.open(current),
        current.patientId,
      );
      const versionId = current.versionId + 1;
      const versionHash = this.versionHash(resourceType, id, versionId, '');
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
      await this.commit([version], {
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
  async history(
    resourceType: string,
    id: string,
    context: AccessContext,
  ): Promise<{ versionId: number; lastUpdated: string; resource?: Resource; deleted: boolean }[]> {
    const versions = await this.options.storage.history(resourceType, id);
    if (versions.length === 0)
      throw new CareLedgerError('ERR_NOT_FOUND', `${resourceType}/${id} does not exist`);
    const patient = versions[0]?.patientId ?? '';
    const entity = `${resourceType}/${id}`;
    const requester = await this.admit('history-instance', context, { entity, patient, resourceType });
    const memo: AddressMemo = new Map();
    const result = [];
    let refused: string | undefined;
    let breakGlass = false;
    for (const version of versions) {
      if (version.deleted) {
        if (this.seesCompartment(requester, version.patientId)) {
          result.push({ versionId: version.versionId, lastUpdated: version.lastUpdated, deleted: true });
        }
        continue;
      }
      const resource = await this.open(version);
      const decision = await this.decide(requester, context, 'history-instance', patient, resource, memo);
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
      await this.refuse('history-instance', context, { entity, patient, reason: refused });
    }
    await this.commit([], { interaction: 'history-instance', context, entity, patient, breakGlass });
    return result;
  }

  /**
   * Type history (R4 §3.1.0.10.1): every version of every resource of a type the requester may see,
   * newest first, at most `count`, optionally only versions after `since`. Audited once per patient.
   */
  async typeHistory(
    resourceType: string,
    context: AccessContext,
    options: { since?: string; count: number },
  ): Promise<
    { id: string; versionId: number; lastUpdated: string; resource?: Resource; deleted: boolean }[]
  > {
    const requester = await this.admit('history-type', context, {
      entity: `${resourceType}/_history`,
      resourceType,
    });
    const memo: AddressMemo = new Map();
    const result = [];
    const patients = new Map<string, boolean>();
    for await (const version of this.typeHistoryVersions(resourceType, options.since)) {
      if (result.length >= options.count) break;
      if (!this.seesCompartment(requester, version.patientId)) continue;
      let resource: Resource | undefined;
      let breakGlass = false;
      if (!version.deleted) {
        resource = await this.openUnlessErased(version);
        if (resource === undefined) continue;
        const decision = await this.decide(
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
        versionId: version.versionId,
        lastUpdated: version.lastUpdated,
        deleted: version.deleted,
        ...(resource === undefined ? {} : { resource: this.served(resource, version, context) }),
      });
    }
    for (const [patient, breakGlass] of patients.size === 0 ? [['', false] as const] : patients) {
      await this.commit([], {
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
  private async *typeHistoryVersions(resourceType: string, since?: string): AsyncGenerator<StoredVersion> {
    let before: number | undefined;
    for (;;) {
      const page = await this.options.storage.typeHistory(resourceType, {
        ...(since === undefined ? {} : { since }),
        ...(before === undefined ? {} : { beforeLogIndex: before }),
        limit: 200,
      });
      yield* page;
      if (page.length < 200) return;
      before = page.at(-1)?.logIndex;
    }
  }

  /**
   * The first question of every request: may this requester attempt the interaction at all? A refusal
   * is recorded (AuditEvent outcome 4, with the reason) and answered with ERR_FORBIDDEN.
   */
  private async admit(
    interaction: FhirInteraction,
    context: AccessContext,
    target: { entity?: string; patient?: string; resourceType?: string },
  ): Promise<Requester> {
    const decision = this.options.policy.evaluateInteraction(context, interaction);
    if (!decision.allowed) return this.refuse(interaction, context, { ...target, reason: decision.reason });
    if (target.resourceType !== undefined) {
      const scoped = evaluateTokenScopes(context, interaction, target.resourceType);
      if (!scoped.allowed) return this.refuse(interaction, context, { ...target, reason: scoped.reason });
    }
    return decision.requester;
  }

  /** The second question, for one resource: may the requester see (or write) it? */
  private decide(
    requester: Requester,
    context: AccessContext,
    interaction: FhirInteraction,
    patientId: string,
    resource: Resource,
    memo: AddressMemo,
  ): Promise<ResourceDecision> {
    return this.options.policy.evaluateResource(requester, context, interaction, {
      resource,
      patientId,
      patientAddress: () => {
        let address = memo.get(patientId);
        if (address === undefined) {
          address = this.options.storage
            .current('Patient', patientId)
            .then(async (v) =>
              v === undefined || v.deleted ? undefined : patientLedgerAddress(await this.openUnlessErased(v)),
            );
          memo.set(patientId, address);
        }
        return address;
      },
    });
  }

  /** A write (or the version it replaces) the requester may not make is refused and audited; returns the break-glass mark. */
  private async admitWrite(
    requester: Requester,
    context: AccessContext,
    interaction: FhirInteraction,
    resource: Resource,
    patientId: string = compartmentPatient(resource),
  ): Promise<boolean> {
    const decision = await this.decide(requester, context, interaction, patientId, resource, new Map());
    if (!decision.allowed) {
      await this.refuse(interaction, context, {
        entity: `${resource.resourceType}/${resource.id ?? ''}`,
        patient: patientId,
        reason: decision.reason,
      });
    }
    return decision.allowed && decision.breakGlass;
  }

  /** Whether the requester may know that versions of this compartment exist (deleted versions have no content to judge). */
  private seesCompartment(requester: Requester, patientId: string): boolean {
    if (requester.kind === 'patient') return patientId === requester.patientId;
    return requester.kind === 'staff';
  }

  /** Records a refusal and throws ERR_FORBIDDEN with its reason. */
  private async refuse(
    interaction: FhirInteraction,
    context: AccessContext,
    target: { entity?: string; patient?: string; reason: string },
  ): Promise<never> {
    await this.recordDenied(interaction, context, target);
    throw new CareLedgerError('ERR_FORBIDDEN', `access refused: ${target.reason}`, {
      details: {
        reason: target.reason,
        ...(target.reason.startsWith('insufficient scope') ? { oauth: 'insufficient_scope' } : {}),
      },
    });
  }

  /**
   * Patient/{id}/$everything (R4 §Patient-operation-everything): the patient and every current resource
   * of the served types in their compartment, audited as one operation.
   */
  async everything(patientId: string, context: AccessContext, types: readonly string[]): Promise<Resource[]> {
    const current = await this.options.storage.current('Patient', patientId);
    if (current === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', `Patient/${patientId} does not exist`);
    const entity = `Patient/${patientId}/$everything`;
    const requester = await this.admit('operation', context, {
      entity,
      patient: patientId,
      resourceType: 'Patient',
    });
    if (current.deleted) throw new CareLedgerError('ERR_GONE', `Patient/${patientId} was deleted`);
    const memo: AddressMemo = new Map();
    const patient = await this.open(current);
    const first = await this.decide(requester, context, 'operation', patientId, patient, memo);
    if (!first.allowed)
      await this.refuse('operation', context, { entity, patient: patientId, reason: first.reason });
    let breakGlass = first.allowed && first.breakGlass;
    const resources: Resource[] = [this.served(patient, current, context)];
    for (const type of types) {
      if (type === 'Patient') continue;
      for (const version of await this.options.storage.listCurrent(type, { patientId })) {
        const resource = await this.open(version);
        const decision = await this.decide(requester, context, 'operation', patientId, resource, memo);
        if (!decision.allowed) continue;
        breakGlass ||= decision.breakGlass;
        resources.push(this.served(resource, version, context));
      }
    }
    await this.commit([], { interaction: 'operation', context, entity, patient: patientId, breakGlass });
    return resources;
  }

  /**
   * A FHIR transaction Bundle (R4 §3.1.0.11.2): every entry is validated and the bundle's `urn:uuid:`
   * references are rewritten (a POST entry keeps its urn:uuid as its id, so a re-sent transaction
   * rewrites the same resources); then all versions and one AuditEvent per patient concerned commit
   * in one transaction, or nothing does. Entries: POST and PUT of a resource, DELETE of `Type/id`.
   */
  async transaction(
    input: unknown,
    context: AccessContext,
  ): Promise<{ type: string; id: string; versionId: number; created: boolean; deleted: boolean }[]> {
    const bundle = input as { resourceType?: unknown; type?: unknown; entry?: unknown };
    if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'transaction') {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'expected a Bundle of type transaction');
    }
    const requester = await this.admit('transaction', context, {});
    const entries = (Array.isArray(bundle.entry) ? bundle.entry : []) as {
      fullUrl?: string;
      resource?: unknown;
      request?: { method?: string; url?: string };
    }[];
    const rewritten = rewriteBundleReferences({
      entry: entries.filter((e) => e.request?.method !== 'DELETE'),
    });
    if (rewritten.unresolvedReferences.length > 0) {
      const first = rewritten.unresolvedReferences[0];
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'the transaction has references to entries it does not contain',
        {
          details: { reason: 'broken-reference', expression: first?.path ?? '' },
        },
      );
    }
    if (rewritten.unusable.length > 0) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a transaction entry has no resource', {
        details: { entry: rewritten.unusable[0]?.index ?? 0 },
      });
    }
    const writes: { type: string; id: string; resource?: Resource }[] = [];
    for (const entry of rewritten.entries) {
      const original = entries.filter((e) => e.request?.method !== 'DELETE')[entry.index];
      const method = original?.request?.method ?? 'POST';
      if (method !== 'POST' && method !== 'PUT') {
        throw new CareLedgerError(
          'ERR_INVALID_INPUT',
          `transaction entries may be POST, PUT or DELETE, not ${method}`,
        );
      }
      let resource: Resource;
      try {
        resource = parseResource(entry.resource);
      } catch (error) {
        if (error instanceof CareLedgerError) {
          throw new CareLedgerError(
            'ERR_INVALID_INPUT',
            `transaction entry ${entry.index} is invalid: nothing was written`,
            {
              details: { ...error.details, entry: entry.index },
            },
          );
        }
        throw error;
      }
      const id = method === 'PUT' ? (original?.request?.url?.split('/')[1] ?? entry.id) : entry.id;
      writes.push({ type: entry.resourceType, id, resource: { ...resource, id } as Resource });
    }
    for (const entry of entries.filter((e) => e.request?.method === 'DELETE')) {
      const [type, id] = (entry.request?.url ?? '').split('/');
      if (type === undefined || id === undefined || type === '' || id === '') {
        throw new CareLedgerError('ERR_INVALID_INPUT', 'a DELETE entry needs request.url Type/id');
      }
      writes.push({ type, id });
    }
    const keys = [...new Set(writes.map((w) => `${w.type}/${w.id}`))].sort();
    if (keys.length !== writes.length) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a transaction may touch each resource once');
    }
    return this.withLocks(keys, async () => {
      const now = this.now().toISOString();
      const staged: { version: Omit<StoredVersion, 'logIndex'>; index: SearchIndexEntry[] }[] = [];
      const results = [];
      const patients = new Set<string>();
      const breakGlassPatients = new Set<string>();
      const storedResources: Resource[] = [];
      for (const w of writes) {
        const current = await this.options.storage.current(w.type, w.id);
        // Every entry is the requester's to write, or the whole transaction is refused (and audited).
        for (const [resource, patient] of [
          ...(current === undefined || current.deleted
            ? []
            : [[await this.open(current), current.patientId] as const]),
          ...(w.resource === undefined ? [] : [[w.resource, compartmentPatient(w.resource)] as const]),
        ]) {
          const interaction =
            w.resource === undefined ? 'delete' : current === undefined ? 'create' : 'update';
          if (await this.admitWrite(requester, context, interaction, resource, patient)) {
            breakGlassPatients.add(patient);
          }
        }
        const versionId = (current?.versionId ?? 0) + 1;
        if (w.resource === undefined) {
          if (current === undefined || current.deleted) continue;
          patients.add(current.patientId);
          staged.push({
            version: {
              resourceType: w.type,
              id: w.id,
              versionId,
              patientId: current.patientId,
              lastUpdated: now,
              deleted: true,
              sealed: null,
              versionHash: this.versionHash(w.type, w.id, versionId, ''),
              commitmentSalt: null,
            },
            index: [],
          });
          results.push({ type: w.type, id: w.id, versionId, created: false, deleted: true });
          continue;
        }
        const stored = {
          ...w.resource,
          meta: { ...w.resource.meta, versionId: String(versionId), lastUpdated: now },
        } as Resource;
        const canonical = canonicalJson(stored);
        const patientId = compartmentPatient(stored);
        patients.add(patientId);
        staged.push({
          version: {
            resourceType: w.type,
            id: w.id,
            versionId,
            patientId,
            lastUpdated: now,
            deleted: false,
            sealed: await this.options.crypto.encrypt(
              {
                resourceType: w.type,
                id: w.id,
                versionId: String(versionId),
                patientId: keyOwner(w.type, patientId),
              },
              encoder.encode(canonical),
            ),
            versionHash: this.versionHash(w.type, w.id, versionId, canonical),
            commitmentSalt: null,
          },
          index: this.indexEntries(stored),
        });
        storedResources.push(stored);
        results.push({ type: w.type, id: w.id, versionId, created: current === undefined, deleted: false });
      }
      await this.commitMany(
        staged,
        [...(patients.size === 0 ? [''] : patients)].map((patient) => ({
          interaction: 'transaction' as const,
          context,
          entity: `Bundle/transaction(${staged.length})`,
          patient,
          breakGlass: breakGlassPatients.has(patient),
        })),
      );
      this.notifyStored(storedResources);
      return results;
    });
  }

  /**
   * Break-glass (ARCHITECTURE §4): a clinician declares an emergency for one patient, with a reason and
   * purpose ETREAT. The declaration is an AuditEvent marked DICOM 110127 carrying the reason (sealed),
   * and the session row commits with it; for `minutes`, every access by this clinician to this patient
   * is permitted and marked. The caller checks the second factor first.
   */
  async declareBreakGlass(
    patientId: string,
    reason: string,
    context: AccessContext,
    minutes = 60,
  ): Promise<BreakGlassSession> {
    const entity = `Patient/${patientId}/$break-glass`;
    const requester = await this.admit('operation', context, { entity, patient: patientId });
    const refuse = (why: string) =>
      this.refuse('operation', context, { entity, patient: patientId, reason: why });
    if (requester.kind !== 'staff' || !requester.roles.includes('clinician')) {
      return refuse('only a clinician may declare an emergency');
    }
    if (context.purpose !== 'ETREAT') return refuse('break-glass needs the purpose of use ETREAT');
    const text = reason.trim();
    if (text.length < 10 || text.length > 1000) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'a break-glass reason of 10 to 1000 characters is required',
      );
    }
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 24 * 60) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a break-glass window is 1 to 1440 minutes');
    }
    const current = await this.options.storage.current('Patient', patientId);
    if (current === undefined || current.deleted) {
      throw new CareLedgerError('ERR_NOT_FOUND', `Patient/${patientId} does not exist`);
    }
    const started = this.now();
    const session: BreakGlassSession = {
      id: this.newId(),
      who: requester.who,
      patientId,
      startedAt: started.toISOString(),
      expiresAt: new Date(started.getTime() + minutes * 60_000).toISOString(),
      auditEventId: this.newId(),
    };
    await this.commitMany(
      [],
      [
        {
          interaction: 'operation',
          context,
          entity,
          patient: patientId,
          breakGlass: true,
          purposeText: text,
          id: session.auditEventId,
        },
      ],
      () => this.options.breakGlass.insert(session),
    );
    return session;
  }

  /**
   * The review every break-glass session needs afterwards, by a privacy officer: recorded as an
   * AuditEvent marked DICOM 110128 with the officer's note, committed with the review.
   */
  async reviewBreakGlass(
    sessionId: string,
    review: { outcome: 'justified' | 'not-justified'; note: string },
    context: AccessContext,
  ): Promise<BreakGlassSession> {
    const session = this.options.breakGlass.get(sessionId);
    if (session === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'no such break-glass session');
    const entity = `Patient/${session.patientId}/$break-glass-review`;
    const requester = await this.admit('operation', context, { entity, patient: session.patientId });
    if (requester.kind !== 'staff' || !requester.roles.includes('privacy-officer')) {
      return this.refuse('operation', context, {
        entity,
        patient: session.patientId,
        reason: 'only a privacy officer may review a break-glass session',
      });
    }
    if (session.review !== undefined) {
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'this session has already been reviewed');
    }
    const note = review.note.trim();
    if (note.length === 0 || note.length > 2000) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a review note of 1 to 2000 characters is required');
    }
    const done = {
      reviewedAt: this.now().toISOString(),
      reviewer: requester.who,
      auditEventId: this.newId(),
      outcome: review.outcome,
    } as const;
    await this.commitMany(
      [],
      [
        {
          interaction: 'operation',
          context,
          entity,
          patient: session.patientId,
          breakGlass: true,
          breakGlassStopped: true,
          purposeText: `${review.outcome}: ${note}`,
          id: done.auditEventId,
        },
      ],
      () => this.options.breakGlass.recordReview(sessionId, done),
    );
    return { ...session, review: done };
  }

  /** Break-glass sessions, for the privacy officer (all) or a patient (their own). */
  listBreakGlass(context: AccessContext, filter: { unreviewed?: boolean }): BreakGlassSession[] {
    const requester = parseRequester(context);
    const at = this.now().toISOString();
    if (requester.kind === 'patient') {
      return this.options.breakGlass.list({ ...filter, at, patientId: requester.patientId });
    }
    if (requester.kind === 'staff' && requester.roles.includes('privacy-officer')) {
      return this.options.breakGlass.list({ ...filter, at });
    }
    throw new CareLedgerError(
      'ERR_FORBIDDEN',
      'access refused: break-glass sessions are shown to the patient and the privacy officer',
    );
  }

  /**
   * Crypto-shredding (GDPR Art. 17, on the operator's authority): destroys every data key of the
   * patient, so each of their record versions becomes unreadable (reads answer 410 Gone) while the
   * log, its proofs and the AuditEvents (sealed under the node key) stay intact. The blind-index rows
   * of the erased records go too: they are keyed hashes of the erased values. The erasure itself is
   * audited. Idempotent: erasing an erased patient reports the first erasure.
   */
  async erasePatient(
    patientId: string,
    context: AccessContext,
  ): Promise<{ erasedAt: string; keyVersions: number; alreadyErased: boolean }> {
    if (patientId === NODE_KEY_PATIENT_ID) throw new CareLedgerError('ERR_INVALID_INPUT', 'not a patient id');
    const current = await this.options.storage.current('Patient', patientId);
    if (current === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', `Patient/${patientId} does not exist`);
    const before = await this.options.crypto.erasedAt(patientId);
    if (before !== undefined) {
      return { erasedAt: new Date(before).toISOString(), keyVersions: 0, alreadyErased: true };
    }
    // Read before the keys go: afterwards nothing can tell which ledger address this patient had.
    const ledgerAddress =
      this.options.onPatientErased === undefined || current.deleted
        ? undefined
        : patientLedgerAddress(await this.openUnlessErased(current));
    try {
      await this.options.onPatientErased?.(patientId, ledgerAddress);
    } catch {
      // The listener's failure is its own to report; erasure does not wait on the ledger.
    }
    const destroyed = await this.options.crypto.destroyPatientKeys(patientId);
    await this.commitMany(
      [],
      [{ interaction: 'operation', context, entity: `Patient/${patientId}/$erase`, patient: patientId }],
      () => this.options.storage.dropSearchIndex(patientId),
    );
    return {
      erasedAt: new Date(destroyed.destroyedAt).toISOString(),
      keyVersions: destroyed.deletedVersions,
      alreadyErased: false,
    };
  }

  /** Records a refused access (the policy's decision) in the log, with its reason. */
  async recordDenied(
    interaction: FhirInteraction,
    context: AccessContext,
    target: { entity?: string; patient?: string; reason: string },
  ): Promise<void> {
    await this.commit([], {
      interaction,
      context,
      ...(target.entity === undefined ? {} : { entity: target.entity }),
      patient: target.patient ?? '',
      outcome: 'denied',
      outcomeDescription: target.reason,
    });
  }

  /** A patient's AuditEvents, oldest first, each with its log index and commitment salt. */
  async auditTrail(patientId: string): Promise<AuditRecord[]> {
    const versions = await this.options.storage.listCurrent('AuditEvent', { patientId });
    const records: AuditRecord[] = [];
    for (const version of versions.sort((a, b) => a.logIndex - b.logIndex)) {
      records.push({
        auditEvent: (await this.open(version)) as AuditEvent,
        logIndex: version.logIndex,
        salt: version.commitmentSalt ?? new Uint8Array(),
      });
    }
    return records;
  }

  private async readVersion(
    version: StoredVersion | undefined,
    interaction: 'read' | 'vread',
    context: AccessContext,
    resourceType: string,
    id: string,
  ): Promise<Resource> {
    if (version === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', `${resourceType}/${id} does not exist`);
    const entity = `${resourceType}/${id}/_history/${version.versionId}`;
    const requester = await this.admit(interaction, context, {
      entity,
      patient: version.patientId,
      resourceType,
    });
    if (version.deleted) {
      if (!this.seesCompartment(requester, version.patientId)) {
        await this.refuse(interaction, context, {
          entity,
          patient: version.patientId,
          reason: "outside the requester's records",
        });
      }
      throw new CareLedgerError('ERR_GONE', `${resourceType}/${id} was deleted`, {
        details: { reason: 'deleted', versionId: version.versionId },
      });
    }
    const opened = await this.open(version);
    const decision = await this.decide(requester, context, interaction, version.patientId, opened, new Map());
    if (!decision.allowed) {
      await this.refuse(interaction, context, {
        entity,
        patient: version.patientId,
        reason: decision.reason,
      });
    }
    await this.commit([], {
      interaction,
      context,
      entity,
      patient: version.patientId,
      breakGlass: decision.allowed && decision.breakGlass,
    });
    return this.served(opened, version, context);
  }

  /** Opens a version, or undefined if its patient was erased (lists skip erased records). */
  private async openUnlessErased(version: StoredVersion): Promise<Resource | undefined> {
    try {
      return await this.open(version);
    } catch (error) {
      if (error instanceof CareLedgerError && error.code === 'ERR_GONE') return undefined;
      throw error;
    }
  }

  private async open(version: StoredVersion): Promise<Resource> {
    if (version.sealed === null) throw new CareLedgerError('ERR_GONE', 'the version has no content');
    const plaintext = await this.options.crypto.decrypt(
      {
        resourceType: version.resourceType,
        id: version.id,
        versionId: String(version.versionId),
        patientId: keyOwner(version.resourceType, version.patientId),
      },
      version.sealed,
    );
    return JSON.parse(decoder.decode(plaintext)) as Resource;
  }

  private versionHash(resourceType: string, id: string, versionId: number, canonical: string): string {
    return computeVersionHash(
      this.versionKey(resourceType, id, versionId),
      resourceType,
      id,
      versionId,
      canonical,
    );
  }

  /** The per-version key of the logged keyed hash (see version-proof.ts), derived from the node key. */
  private versionKey(resourceType: string, id: string, versionId: number): Uint8Array {
    return this.options.crypto.keyedHash(`version-key\n${resourceType}\n${id}\n${versionId}`);
  }

  /**
   * A version as served: AuditEvents with their log commitment; other records, for a reader who asks
   * for them (another member, always; `X-CareLedger-Version-Proof`), with their version proof.
   */
  private served(resource: Resource, version: StoredVersion | undefined, context: AccessContext): Resource {
    if (resource.resourceType === 'AuditEvent' || version === undefined)
      return withLogEntry(resource, version);
    if (context.versionProofs !== true && context.member === undefined) return resource;
    return withVersionProof(resource, {
      index: version.logIndex,
      key: this.versionKey(version.resourceType, version.id, version.versionId),
    });
  }

  /**
   * `meta.source` of a resource's current version, read by the node itself (no requester, so no
   * AuditEvent): how a pull from another member knows it already holds that member's version.
   */
  async currentSource(resourceType: string, id: string): Promise<string | undefined> {
    const current = await this.options.storage.current(resourceType, id);
    if (current === undefined || current.deleted) return undefined;
    return (await this.openUnlessErased(current))?.meta?.source;
  }

  /**
   * This node's current Patient carrying a ledger address (the identifier in LEDGER_ADDRESS_SYSTEM),
   * found through the blind index: how a patient's own signed assertion names their record here.
   */
  async patientIdByLedgerAddress(address: Address): Promise<string | undefined> {
    const wanted = address.toLowerCase();
    for (const form of new Set([getAddress(address), wanted])) {
      const plan = planSearch(
        'Patient',
        new URLSearchParams({ identifier: `${LEDGER_ADDRESS_SYSTEM}|${form}` }),
        this.searchHash,
        { handling: 'strict', now: this.now().getTime() },
      );
      for (const candidate of await this.options.storage.searchCandidates(
        'Patient',
        plan.indexFilters,
        plan.id,
      )) {
        if (candidate.deleted) continue;
        const resource = await this.openUnlessErased(candidate);
        if (resource !== undefined && patientLedgerAddress(resource)?.toLowerCase() === wanted)
          return resource.id;
      }
    }
    return undefined;
  }

  private async writeVersion(
    resource: Resource,
    versionId: number,
    interaction: 'create' | 'update',
    context: AccessContext,
    breakGlass = false,
  ): Promise<Resource> {
    const id = resource.id as string;
    const lastUpdated = this.now().toISOString();
    const stored = {
      ...resource,
      meta: { ...resource.meta, versionId: String(versionId), lastUpdated },
    } as Resource;
    const canonical = canonicalJson(stored);
    const patientId = compartmentPatient(stored);
    const sealed = await this.options.crypto.encrypt(
      {
        resourceType: stored.resourceType,
        id,
        versionId: String(versionId),
        patientId: keyOwner(stored.resourceType, patientId),
      },
      encoder.encode(canonical),
    );
    await this.commit(
      [
        {
          resourceType: stored.resourceType,
          id,
          versionId,
          patientId,
          lastUpdated,
          deleted: false,
          sealed,
          versionHash: this.versionHash(stored.resourceType, id, versionId, canonical),
          commitmentSalt: null,
        },
      ],
      {
        interaction,
        context,
        entity: `${stored.resourceType}/${id}/_history/${versionId}`,
        patient: patientId,
        breakGlass,
      },
      this.indexEntries(stored),
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
      const address = patientLedgerAddress(await this.openUnlessErased(version));
      if (address !== undefined) addresses.add(address);
    }
    return [...addresses];
  }

  /**
   * Writes record versions and the interaction's AuditEvent: their log entries (the versions' keyed
   * hashes, then the AuditEvent's commitment) and their rows commit in one transaction. Resolves only
   * once all of it is durable; if the log cannot append, nothing is stored and ERR_LOG_UNAVAILABLE
   * propagates (the HTTP layer answers 503 and serves nothing).
   */
  private async commit(
    versions: Omit<StoredVersion, 'logIndex'>[],
    audit: AuditSpec,
    searchIndex: readonly SearchIndexEntry[] = [],
  ): Promise<void> {
    await this.commitMany(
      versions.map((version) => ({ version, index: searchIndex })),
      [audit],
    );
  }

  /**
   * The general form: several versions (each with its blind-index rows) and several AuditEvents, all
   * in one log group and one transaction (a FHIR transaction Bundle is one of these).
   */
  private async commitMany(
    writes: readonly { version: Omit<StoredVersion, 'logIndex'>; index: readonly SearchIndexEntry[] }[],
    audits: readonly AuditSpec[],
    alsoWithinCommit?: () => void,
  ): Promise<void> {
    const sealedAudits: {
      patient: string;
      id: string;
      recorded: string;
      salt: Uint8Array;
      sealed: SealedRecord;
      versionHash: string;
      entry: Uint8Array;
      index: SearchIndexEntry[];
    }[] = [];
    for (const audit of audits) {
      const auditEvent = createAuditEvent({
        interaction: audit.interaction,
        context: audit.breakGlass === true ? { ...audit.context, breakGlass: true } : audit.context,
        ...(audit.purposeText === undefined ? {} : { purposeText: audit.purposeText }),
        ...(audit.breakGlassStopped === true ? { breakGlassStopped: true } : {}),
        ...(audit.entity === undefined ? {} : { entity: audit.entity }),
        ...(audit.patient === '' ? {} : { patient: `Patient/${audit.patient}` }),
        outcome: audit.outcome ?? 'success',
        ...(audit.outcomeDescription === undefined ? {} : { outcomeDescription: audit.outcomeDescription }),
        observer: this.options.observer,
        recorded: this.now().toISOString(),
      });
      const id = audit.id ?? this.newId();
      const stored = {
        ...auditEvent,
        id,
        meta: { versionId: '1', lastUpdated: auditEvent.recorded },
      } as AuditEvent;
      const canonical = canonicalJson(stored);
      const salt = new Uint8Array(randomBytes(16));
      sealedAudits.push({
        patient: audit.patient,
        id,
        recorded: auditEvent.recorded as string,
        salt,
        sealed: await this.options.crypto.encrypt(
          { resourceType: 'AuditEvent', id, versionId: '1', patientId: NODE_KEY_PATIENT_ID },
          encoder.encode(canonical),
        ),
        versionHash: this.versionHash('AuditEvent', id, 1, canonical),
        entry: formatAuditEntry(stored, salt),
        index: this.indexEntries(stored),
      });
    }
    const entries = [
      ...writes.map((w) => formatVersionEntry(w.version.versionHash)),
      ...sealedAudits.map((a) => a.entry),
    ];
    await this.options.log.appendAll(entries, {
      withinCommit: (firstIndex) => {
        writes.forEach((w, i) => {
          this.options.storage.insertVersion({ ...w.version, logIndex: firstIndex + i }, w.index);
        });
        sealedAudits.forEach((a, i) => {
          this.options.storage.insertVersion(
            {
              resourceType: 'AuditEvent',
              id: a.id,
              versionId: 1,
              patientId: a.patient,
              lastUpdated: a.recorded,
              deleted: false,
              sealed: a.sealed,
              versionHash: a.versionHash,
              logIndex: firstIndex + writes.length + i,
              commitmentSalt: a.salt,
            },
            a.index,
          );
        });
        alsoWithinCommit?.();
      },
    });
  }

  /** Takes several resource locks, in sorted order (so two transactions cannot deadlock). */
  private withLocks<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const [first, ...rest] = keys;
    if (first === undefined) return task();
    return this.withLock(first, () => this.withLocks(rest, task));
  }

  /** Serialises writes to one resource, so a version number checked is still free at commit. */
  private async withLock<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }
}
