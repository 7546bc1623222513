import type { Resource } from '@medplum/fhirtypes';
import { auditIndexEntries } from '../audit/audit-event-index.js';
import {
  type AccessContext,
  type AuditEventInput,
  canonicalAuditEventJson,
  type FhirInteraction,
} from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import { canonicalJson } from '../fhir/canonical-json.js';
import { compartmentPatient } from '../fhir/compartment/compartment-patient.js';
import {
  extractSearchIndexEntries,
  isSearchableResourceType,
  type KeyedHash,
  type SearchIndexEntry,
} from '../fhir/search/index.js';
import type { TransparencyLog } from '../log/index.js';
import { createAuditEventId } from './audit-event-id.js';
import { formatAuditCommitment, withLogEntry } from './audit-log-entry.js';
import type { VaultCommitWrite } from './commit-writes.js';
import { NODE_KEY_PATIENT_ID } from './data-key-store.js';
import { DecryptedVersionCache } from './decrypted-version-cache.js';
import { pooledRandomBytes } from './random-pool.js';
import type { SealedRecord } from './record-cipher.js';
import type { RecordStorage, StoredVersion } from './record-storage.js';
import type { VaultCrypto } from './vault-crypto.js';
import { computeVersionHash, formatVersionEntry, withVersionProof } from './version-proof.js';

export interface SealedRecordStoreOptions {
  readonly storage: RecordStorage;
  readonly crypto: VaultCrypto;
  /** The transparency log, or a worker's way to its member's one sequencer: only appends are needed. */
  readonly log: Pick<TransparencyLog, 'appendAll'>;
  /** The node as AuditEvent observer. */
  readonly observer: { readonly display: string; readonly origin: string };
  readonly now: () => Date;
  readonly newId: () => string;
}

/** What one AuditEvent of a commit records. */
export interface AuditSpec {
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

/** One record version to store, with its blind-index rows. */
export interface VersionWrite {
  readonly version: Omit<StoredVersion, 'logIndex'>;
  readonly index: readonly SearchIndexEntry[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * AuditEvents are sealed under the node's key, not the patient's: erasing a patient's records must
 * not erase the record of who accessed them (audit retention outlives the data).
 */
export function keyOwner(resourceType: string, patientId: string): string {
  return resourceType === 'AuditEvent' ? NODE_KEY_PATIENT_ID : patientId;
}

/**
 * Versioned, sealed storage: record versions sealed with per-patient keys, every version's keyed hash
 * and each interaction's AuditEvent appended to the transparency log in the same transaction as the
 * rows they describe. No access decisions here: callers reach it only through the FHIR gateway
 * (`FhirRepository`), which admits, decides and audits first.
 */
export class SealedRecordStore {
  readonly storage: RecordStorage;
  readonly now: () => Date;
  readonly newId: () => string;
  /** Blind-index hashes: the node's keyed hash, so equal values are findable but not readable. */
  readonly searchHash: KeyedHash;
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Plaintext of recently opened versions, checked against the row and erasure (decision 0017). */
  private readonly decrypted = new DecryptedVersionCache();

  constructor(private readonly options: SealedRecordStoreOptions) {
    this.storage = options.storage;
    this.now = options.now;
    this.newId = options.newId;
    this.searchHash = (value) => options.crypto.keyedHashHex(value);
  }

  indexEntries(resource: Resource): SearchIndexEntry[] {
    return isSearchableResourceType(resource.resourceType)
      ? extractSearchIndexEntries(resource, this.searchHash)
      : [];
  }

  /** Opens a version, or undefined if its patient was erased (lists skip erased records). */
  async openUnlessErased(version: StoredVersion): Promise<Resource | undefined> {
    try {
      return await this.open(version);
    } catch (error) {
      if (error instanceof CareLedgerError && error.code === 'ERR_GONE') return undefined;
      throw error;
    }
  }

  async open(version: StoredVersion): Promise<Resource> {
    if (version.sealed === null) throw new CareLedgerError('ERR_GONE', 'the version has no content');
    const cached = this.decrypted.get(version);
    // A cached plaintext is used only while its patient is not erased (decision 0017).
    if (
      cached !== undefined &&
      (await this.options.crypto.erasedAt(keyOwner(version.resourceType, version.patientId))) === undefined
    )
      return JSON.parse(cached) as Resource;
    const text = await this.decryptText(version, version.sealed);
    this.decrypted.set(version, text);
    return JSON.parse(text) as Resource;
  }

  /**
   * A bulk read's open (`$export`): decrypted without the cache of recently opened versions, whose
   * entries a pass over every record would only evict, with the stored canonical text beside the
   * parsed resource so an unchanged resource is written as it is. Undefined if its patient was erased.
   */
  async openForBulk(version: StoredVersion): Promise<{ resource: Resource; text: string } | undefined> {
    if (version.sealed === null) return undefined;
    try {
      const text = await this.decryptText(version, version.sealed);
      return { resource: JSON.parse(text) as Resource, text };
    } catch (error) {
      if (error instanceof CareLedgerError && error.code === 'ERR_GONE') return undefined;
      throw error;
    }
  }

  /** The version's plaintext, sealed under its key owner's data key and bound to its address. */
  private async decryptText(
    version: StoredVersion,
    sealed: NonNullable<StoredVersion['sealed']>,
  ): Promise<string> {
    const plaintext = await this.options.crypto.decrypt(
      {
        resourceType: version.resourceType,
        id: version.id,
        versionId: String(version.versionId),
        patientId: keyOwner(version.resourceType, version.patientId),
      },
      sealed,
    );
    return decoder.decode(plaintext);
  }

  /** Drops the patient's decrypted records from memory (their keys were just destroyed). */
  forgetDecrypted(patientId: string): void {
    this.decrypted.forgetPatient(patientId);
  }

  versionHash(resourceType: string, id: string, versionId: number, canonical: string | Uint8Array): string {
    return computeVersionHash(
      this.versionKey(resourceType, id, versionId),
      resourceType,
      id,
      versionId,
      canonical,
    );
  }

  /** The per-version key of the logged keyed hash (see version-proof.ts), derived from the node key. */
  versionKey(resourceType: string, id: string, versionId: number): Uint8Array {
    return this.options.crypto.keyedHash(`version-key\n${resourceType}\n${id}\n${versionId}`);
  }

  /**
   * A version as served: AuditEvents with their log commitment; other records, for a reader who asks
   * for them (another member, always; `X-CareLedger-Version-Proof`), with their version proof.
   */
  served(resource: Resource, version: StoredVersion | undefined, context: AccessContext): Resource {
    if (resource.resourceType === 'AuditEvent' || version === undefined)
      return withLogEntry(resource, version);
    if (context.versionProofs !== true && context.member === undefined) return resource;
    return withVersionProof(resource, {
      index: version.logIndex,
      key: this.versionKey(version.resourceType, version.id, version.versionId),
    });
  }

  /** Seals and commits a resource's new version with its AuditEvent; returns it as stored. */
  async writeVersion(
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
    // Sealed and hashed as the same UTF-8, encoded once.
    const canonical = encoder.encode(canonicalJson(stored));
    const patientId = compartmentPatient(stored);
    const sealed = await this.options.crypto.encrypt(
      {
        resourceType: stored.resourceType,
        id,
        versionId: String(versionId),
        patientId: keyOwner(stored.resourceType, patientId),
      },
      canonical,
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
    return stored;
  }

  /**
   * Writes record versions and the interaction's AuditEvent: their log entries (the versions' keyed
   * hashes, then the AuditEvent's commitment) and their rows commit in one transaction. Resolves only
   * once all of it is durable; if the log cannot append, nothing is stored and ERR_LOG_UNAVAILABLE
   * propagates (the HTTP layer answers 503 and serves nothing).
   */
  async commit(
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
  async commitMany(
    writes: readonly VersionWrite[],
    audits: readonly AuditSpec[],
    alsoWithinCommit: readonly VaultCommitWrite[] = [],
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
      const input: AuditEventInput = {
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
      };
      // Time-ordered, so the record's indexes take it at their right edge (audit-event-id.ts).
      const id = audit.id ?? createAuditEventId(this.now());
      // The stored AuditEvent ({...createAuditEvent(input), id, meta}) as canonical JSON, written
      // from its fixed shape without building it (decision 0055; equal to canonicalJson, tested).
      const bytes = encoder.encode(canonicalAuditEventJson(input, id));
      const salt = pooledRandomBytes(16);
      const agents = [input.context.who];
      if (input.context.onBehalfOf !== undefined) agents.push(input.context.onBehalfOf);
      const entities: string[] = [];
      if (input.entity !== undefined) entities.push(input.entity);
      if (input.patient !== undefined) entities.push(input.patient);
      sealedAudits.push({
        patient: audit.patient,
        id,
        recorded: input.recorded,
        salt,
        sealed: await this.options.crypto.encrypt(
          { resourceType: 'AuditEvent', id, versionId: '1', patientId: NODE_KEY_PATIENT_ID },
          bytes,
        ),
        // The same UTF-8 sealed, hashed and committed: encoded once.
        versionHash: this.versionHash('AuditEvent', id, 1, bytes),
        entry: formatAuditCommitment(salt, bytes),
        // A fixed set of rows built without FHIRPath nor the AuditEvent (src/audit/audit-event-index.ts).
        index: auditIndexEntries({ interaction: input.interaction, agents, entities }, this.searchHash),
      });
    }
    const entries = [
      ...writes.map((w) => formatVersionEntry(w.version.versionHash)),
      ...sealedAudits.map((a) => a.entry),
    ];
    const withinCommit: VaultCommitWrite[] = [
      ...writes.map(
        (w, i): VaultCommitWrite => ({
          kind: 'version',
          version: w.version,
          index: w.index,
          entryOffset: i,
        }),
      ),
      ...sealedAudits.map(
        (a, i): VaultCommitWrite => ({
          kind: 'version',
          version: {
            resourceType: 'AuditEvent',
            id: a.id,
            versionId: 1,
            patientId: a.patient,
            lastUpdated: a.recorded,
            deleted: false,
            sealed: a.sealed,
            versionHash: a.versionHash,
            commitmentSalt: a.salt,
          },
          index: a.index,
          entryOffset: writes.length + i,
        }),
      ),
      ...alsoWithinCommit,
    ];
    await this.options.log.appendAll(entries, { withinCommit });
  }

  /** Takes several resource locks, in sorted order (so two transactions cannot deadlock). */
  withLocks<T>(keys: readonly string[], task: () => Promise<T>): Promise<T> {
    const [first, ...rest] = keys;
    if (first === undefined) return task();
    return this.withLock(first, () => this.withLocks(rest, task));
  }

  /** Serialises writes to one resource, so a version number checked is still free at commit. */
  async withLock<T>(key: string, task: () => Promise<T>): Promise<T> {
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
