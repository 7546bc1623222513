import type { IndexFilter } from '../fhir/search/index.js';
import type { SealedRecord } from './record-cipher.js';

/** One stored version of a FHIR resource: metadata in the clear, the resource itself sealed. */
export interface StoredVersion {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: number;
  /** The compartment's patient id ('' for records of no patient, sealed under the node key). */
  readonly patientId: string;
  /** FHIR instant of the version. */
  readonly lastUpdated: string;
  /** A delete is stored as a version with no content. */
  readonly deleted: boolean;
  readonly sealed: SealedRecord | null;
  /** Hex keyed hash of the version, as logged. */
  readonly versionHash: string;
  /** Index of the version's entry in the node's transparency log. */
  readonly logIndex: number;
  /** For AuditEvents: the random salt of the log commitment (see audit entries in fhir-repository). */
  readonly commitmentSalt: Uint8Array | null;
}

/**
 * What the vault reads from storage. It writes nothing here: versions and erasure's index drops go as
 * data (commit-writes.ts) to the transparency log's append, and each storage adapter applies them
 * inside that transaction (SQLite synchronously, PostgreSQL on the transaction's client), so a
 * version is stored exactly when its log entries are.
 */
export interface RecordStorage {
  /**
   * Current, non-deleted versions of a type having, for every filter, an index row (param, hash) with
   * one of the filter's hashes: the SQL stage of a search (src/fhir/search). Hashes only; no values.
   * In (last updated, id) order, `descending` reversing the first key only; of the listed
   * `compartments` only ('' for records of no patient) when given (CandidateScope).
   */
  searchCandidates(
    resourceType: string,
    filters: readonly IndexFilter[],
    ids?: readonly string[],
    scope?: CandidateScope,
  ): Promise<StoredVersion[]>;
  current(resourceType: string, id: string): Promise<StoredVersion | undefined>;
  version(resourceType: string, id: string, versionId: number): Promise<StoredVersion | undefined>;
  /** Versions of one resource, newest first. */
  history(resourceType: string, id: string): Promise<StoredVersion[]>;
  /**
   * Versions of every resource of a type, newest (highest log index) first, below `beforeLogIndex`,
   * updated after `since` (FHIR instant), at most `limit`: a page of type history.
   */
  typeHistory(
    resourceType: string,
    page: { since?: string; beforeLogIndex?: number; limit: number },
  ): Promise<StoredVersion[]>;
  /**
   * As typeHistory, across every type but AuditEvent (the audit trail is read as its own type, and
   * every read adds to it): a page of system history (decision 0051).
   */
  systemHistory(page: { since?: string; beforeLogIndex?: number; limit: number }): Promise<StoredVersion[]>;
  /** Current, not deleted versions of a type, optionally of one patient's compartment. */
  listCurrent(resourceType: string, filter?: { patientId?: string }): Promise<StoredVersion[]>;
  /**
   * A page of a type's current, not deleted versions in (patientId, id) order after `after`, at most
   * `limit`, updated in (`since`, `until`]; of the listed patients' compartments, of any patient's
   * (`'any'`), or all: how bulk export (src/export) reads a type without holding it whole.
   */
  pageCurrent(resourceType: string, page: CurrentPage): Promise<StoredVersion[]>;
}

/** Which candidates a search may touch and in what order (RecordStorage.searchCandidates). */
export interface CandidateScope {
  /** Patient ids (compartments) whose records may be candidates; '' stands for records of no patient. */
  readonly compartments?: readonly string[];
  /** Newest first by last updated (ties still by id ascending, as a stable sort leaves them). */
  readonly descending?: boolean;
  /**
   * At most this many, in that order: a search whose order comes from here stops once its page is
   * full (issue 16: the work follows the page, not the number of matches). An adapter may return
   * more (all of them); the caller then pages no further.
   */
  readonly limit?: number;
  /** Only candidates after this one in that order (keyset paging from the previous page's last). */
  readonly after?: { readonly lastUpdated: string; readonly id: string };
}

/** One keyset page of current versions (RecordStorage.pageCurrent). */
export interface CurrentPage {
  readonly after?: { readonly patientId: string; readonly id: string };
  readonly patients?: readonly string[] | 'any';
  readonly since?: string;
  readonly until?: string;
  readonly limit: number;
}
