import type { Resource } from '@medplum/fhirtypes';
import type { Requester } from '../../access/index.js';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import { type IndexFilter, normalizeReference, type SearchHandling } from '../../fhir/search/index.js';
import type { SearchPlan } from '../../fhir/search/plan-search.js';
import type { ValueSetLookup } from '../../fhir/terminology/index.js';
import type { AddressMemo, VisibleCompartments } from '../access-gate.js';
import type { CandidateScope, StoredVersion } from '../record-storage.js';
import type { GatewayParts } from './gateway-parts.js';

/** Per search: the requester, their access decisions so far, and what must be audited. */
export interface SearchScope {
  readonly parts: GatewayParts;
  readonly requester: Requester;
  readonly context: AccessContext;
  readonly handling: SearchHandling;
  readonly now: number;
  readonly memo: AddressMemo;
  /** Per resource type: the compartments the requester may possibly see (decided before any candidate). */
  readonly visible: Map<string, Promise<VisibleCompartments>>;
  readonly breakGlassPatients: Set<string>;
  /** Another member's refused search still leaves a denial in the patient's own history. */
  readonly refusedPatients: Map<string, string>;
  /** Versions that failed their integrity check, by `Type/id/version`. */
  readonly unverified: Map<string, StoredVersion>;
  /** Expands the query's `:in` / `:not-in` ValueSets (search-value-sets.ts); else the shipped ones. */
  valueSets?: ValueSetLookup;
}

/** Why a patient the query names is not searched for another member (no record was looked at). */
const NOT_CONSENTED = 'no consent in force for this member, purpose and data';

/** The compartments the requester may see for a type, asked once per search and type. */
export function visibleOf(scope: SearchScope, resourceType: string): Promise<VisibleCompartments> {
  let visible = scope.visible.get(resourceType);
  if (visible === undefined) {
    visible = scope.parts.gate.visibleCompartments(scope.requester, scope.context, resourceType);
    scope.visible.set(resourceType, visible);
  }
  return visible;
}

/** Whether a stored version lies in a compartment the requester may see (checked before it is opened). */
export async function mayTouch(scope: SearchScope, version: StoredVersion): Promise<boolean> {
  const visible = await visibleOf(scope, version.resourceType);
  return visible.all || visible.patients.has(version.patientId);
}

/**
 * The SQL stage of a search, restricted to the compartments the requester may see: a requester with
 * no right to a patient touches none of that patient's records, exactly as for a patient that does
 * not exist. `descending` asks the storage for newest first (see indexOrder).
 */
export async function candidatesOf(
  scope: SearchScope,
  resourceType: string,
  filters: readonly IndexFilter[],
  ids?: readonly string[],
  descending = false,
  page: Pick<CandidateScope, 'limit' | 'after'> = {},
): Promise<StoredVersion[]> {
  const visible = await visibleOf(scope, resourceType);
  if (!visible.all && visible.patients.size === 0) return [];
  return scope.parts.store.storage.searchCandidates(resourceType, filters, ids, {
    ...(visible.all ? {} : { compartments: [...visible.patients] }),
    ...(descending ? { descending } : {}),
    ...page,
  });
}

/**
 * A bounded search's candidates, a keyset page at a time (candidatesOf with `limit` and `after`), so
 * that a search that stops once its page is full never reads the rest: at 10^5 matches a `_count=20`
 * search reads about 21 rows, not 10^5 (issue 16, decision 0052). `next` gives the following page
 * (pages double, up to 1,000 rows), or nothing once the storage has no more; an adapter that ignores
 * the limit (returns more) is read as the whole list, once. Plain arrays, not an async generator:
 * most searches read one page.
 */
export class CandidatePages {
  #size: number;
  #after: CandidateScope['after'];
  #done = false;
  readonly #seen = new Set<string>();

  constructor(
    private readonly scope: SearchScope,
    private readonly resourceType: string,
    private readonly filters: readonly IndexFilter[],
    private readonly ids: readonly string[] | undefined,
    private readonly descending: boolean,
    first: number,
  ) {
    this.#size = Math.max(1, first);
  }

  async next(): Promise<StoredVersion[] | undefined> {
    if (this.#done) return undefined;
    const limit = this.#size;
    const rows = await candidatesOf(this.scope, this.resourceType, this.filters, this.ids, this.descending, {
      limit,
      ...(this.#after === undefined ? {} : { after: this.#after }),
    });
    const fresh = rows.filter((row) => !this.#seen.has(row.id));
    for (const row of fresh) this.#seen.add(row.id);
    const last = rows[rows.length - 1];
    if (rows.length !== limit || fresh.length === 0 || last === undefined) this.#done = true;
    else {
      this.#after = { lastUpdated: last.lastUpdated, id: last.id };
      this.#size = Math.min(limit * 2, MAX_CANDIDATE_PAGE);
    }
    return fresh;
  }
}

/** The largest keyset page CandidatePages asks for (pages grow from the search's own need). */
const MAX_CANDIDATE_PAGE = 1000;

/**
 * Opens a candidate; one that does not verify (a flipped byte, a swapped ciphertext) is noted and
 * skipped rather than failing the whole search: the rest is served, the failure reported and audited.
 */
export async function openVerified(
  scope: SearchScope,
  version: StoredVersion,
): Promise<Resource | undefined> {
  try {
    return await scope.parts.store.openUnlessErased(version);
  } catch (error) {
    if (!(error instanceof CareLedgerError) || error.code !== 'ERR_DECRYPT') throw error;
    scope.unverified.set(`${version.resourceType}/${version.id}/${version.versionId}`, version);
    return undefined;
  }
}

/** Refused resources are dropped before matching is counted: neither they nor their number leak. */
export async function isVisible(
  scope: SearchScope,
  version: StoredVersion,
  resource: Resource,
): Promise<boolean> {
  const decision = await scope.parts.gate.decide(
    scope.requester,
    scope.context,
    'search-type',
    version.patientId,
    resource,
    scope.memo,
  );
  if (decision.allowed && decision.breakGlass) scope.breakGlassPatients.add(version.patientId);
  if (
    !decision.allowed &&
    scope.context.member !== undefined &&
    !scope.refusedPatients.has(version.patientId)
  )
    scope.refusedPatients.set(version.patientId, decision.reason);
  return decision.allowed;
}

/** Reference parameters whose value names the patient a search is about. */
const PATIENT_PARAMS = new Set(['subject', 'patient']);
/** Patient parameters that name one patient per value. */
const IDENTIFYING_PARAMS = new Set(['_id', 'identifier']);

/** The Patient id a `subject=` or `patient=` value names, if it names one. */
function namedPatientId(value: string): string | undefined {
  const id = value.includes('/')
    ? normalizeReference(value).normalized.startsWith('Patient/')
      ? normalizeReference(value).id
      : undefined
    : value;
  return id !== undefined && /^[A-Za-z0-9\-.]{1,64}$/.test(id) ? id : undefined;
}

/**
 * Another member's search that names patients outside what it may see (`Patient?identifier=`,
 * `Patient?_id=`, `?subject=Patient/x`, `?patient=x`) leaves a denial in each one's own history, as a
 * refused read does (decision 0005). Patients are found by metadata and blind index only, at most one
 * per value named. Returns how many values the query names: searchAudits writes that many entries
 * (denials, and entries of no patient for the rest), so a named patient that exists costs the same
 * log entries as one that does not, and no record is decrypted either way.
 */
export async function noteRefusedByName(scope: SearchScope, plan: SearchPlan): Promise<number> {
  if (scope.requester.kind !== 'member') return 0;
  const visible = await visibleOf(scope, plan.resourceType);
  if (visible.all) return 0;
  const { storage } = scope.parts.store;
  const filters = plan.residual.filters ?? [];
  const named: string[] = [];
  let values = 0;
  if (plan.resourceType === 'Patient') {
    if (filters.length === 0 || !filters.every((f) => IDENTIFYING_PARAMS.has(f.code))) return 0;
    // A modifier (`identifier:of-type`) leaves the index unused: nothing is named by hash then.
    if (plan.indexFilters.length === 0 && plan.id === undefined) return 0;
    values = Math.max(...filters.map((f) => f.value.split(',').length));
    for (const patient of await storage.searchCandidates('Patient', plan.indexFilters, plan.id))
      named.push(patient.id);
  } else {
    for (const filter of filters) {
      if (!PATIENT_PARAMS.has(filter.code) || filter.operator !== 'eq') continue;
      for (const value of filter.value.split(',')) {
        values += 1;
        const id = namedPatientId(value);
        const current = id === undefined ? undefined : await storage.current('Patient', id);
        if (current !== undefined && !current.deleted) named.push(current.id);
      }
    }
  }
  for (const patient of named.slice(0, values))
    if (!visible.patients.has(patient) && !scope.refusedPatients.has(patient))
      scope.refusedPatients.set(patient, NOT_CONSENTED);
  return values;
}
