import type { Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { evaluateSearchParam, extractReferences } from '../../fhir/search/extract-search-values.js';
import {
  getSearchParam,
  matchesSearch,
  planSearch,
  type SearchHandling,
  sortResources,
} from '../../fhir/search/index.js';
import { indexOrder } from '../../fhir/search/index-order.js';
import {
  type JoinResult,
  type SearchIssue,
  type SearchJoin,
  type SearchPlan,
  withJoinResults,
} from '../../fhir/search/plan-search.js';
import { selectElements, summarizeResource } from '../../fhir/search/subset-resource.js';
import type { StoredVersion } from '../record-storage.js';
import type { AuditSpec } from '../sealed-record-store.js';
import type { GatewayParts } from './gateway-parts.js';
import {
  CandidatePages,
  candidatesOf,
  isVisible,
  mayTouch,
  noteRefusedByName,
  openVerified,
  type SearchScope,
} from './search-scope.js';
import { expandLater, loadValueSetLookup, valueSetCanonicals } from './search-value-sets.js';

export interface SearchTypeResult {
  readonly resources: Resource[];
  /**
   * Per resource, where its fullUrl is not `Type/id`: a contained resource returned on its own
   * (`_containedType=contained`) is `ContainerType/containerId#localId`, relative to the FHIR base.
   */
  readonly fullUrls?: readonly (string | undefined)[];
  /** `_include` / `_revinclude` results (search mode "include"), within the requester's scope. */
  readonly included: Resource[];
  readonly total?: number;
  /** Parameters not honoured (lenient handling), by name. */
  readonly ignored: readonly string[];
  /** Why each was not honoured (names and reasons only). */
  readonly issues: readonly SearchIssue[];
  /** The parameters honoured, as sent: all the self link may carry (R4 §3.1.1.4). */
  readonly applied: readonly (readonly [string, string])[];
  readonly offset: number;
  readonly count: number;
  /** Whether a match follows this page (the next link); absent when unknown. */
  readonly more?: boolean;
  /** Candidates that failed their integrity check (ERR_DECRYPT) and were left out; no ids, no PHI. */
  readonly unverified: number;
}

/** A stored version that did not verify: what the operator and the privacy officer are told (ids only). */
export interface IntegrityFailure {
  readonly resourceType: string;
  readonly id: string;
  readonly versionId: number;
  readonly patientId: string;
}

export interface SearchTypeOptions {
  readonly handling: SearchHandling;
  /** Told of every record that failed its integrity check; a throw is caught (the search answers). */
  readonly onIntegrityFailure?: (failure: IntegrityFailure) => void;
}

/** `_include:iterate` stops after this many rounds or included resources (R4 leaves the bound to the server). */
const MAX_INCLUDE_ROUNDS = 8;
const MAX_INCLUDED = 1_000;

/**
 * FHIR search (R4 §3.1.1): the blind index narrows candidates in SQL, the rest of the query is
 * evaluated on the decrypted candidates the requester may see, then sorted and paged. Chained and
 * `_has` parameters are searches of their own over what the requester may see, turned into reference
 * or id conditions of the outer search. Each patient whose data is returned gets an AuditEvent naming
 * the query's parameters (never their values).
 */
export async function searchType(
  parts: GatewayParts,
  resourceType: string,
  query: URLSearchParams,
  context: AccessContext,
  options: SearchTypeOptions,
): Promise<SearchTypeResult> {
  const now = parts.store.now().getTime();
  // The query is checked before admission; its ValueSets are expanded once the requester is known.
  let planned = planSearch(resourceType, query, parts.store.searchHash, {
    handling: options.handling,
    now,
    valueSets: expandLater,
  });
  const requester = await parts.gate.admit('search-type', context, {
    entity: `${resourceType}?`,
    resourceType,
  });
  const scope: SearchScope = {
    parts,
    requester,
    context,
    handling: options.handling,
    now,
    memo: new Map(),
    visible: new Map(),
    breakGlassPatients: new Set(),
    refusedPatients: new Map(),
    unverified: new Map(),
  };
  if (valueSetCanonicals(query).length > 0) {
    // Planned again with the node's own ValueSets, read within the requester's scope.
    scope.valueSets = await loadValueSetLookup(scope, query);
    planned = planSearch(resourceType, query, parts.store.searchHash, {
      handling: options.handling,
      now,
      valueSets: scope.valueSets,
    });
  }
  const plan = await resolveJoins(scope, planned, 0);
  const namedValues = await noteRefusedByName(scope, plan);
  // R4 §3.1.1.6: when the storage gives the order (none asked, or `_lastUpdated`) and no total is
  // asked for, only the first offset + count matches need decrypting, and one more says whether a
  // next page exists: `_count` bounds the work (issue 16).
  const order = indexOrder(plan);
  const limit = order !== undefined && plan.total === 'none' ? plan.offset + plan.count + 1 : Infinity;
  const matches = await findMatches(scope, plan, limit);
  const byResource = new Map(matches.map((m) => [m.resource, m]));
  const sorted =
    order !== undefined
      ? matches
      : sortResources(
          matches.map((m) => m.resource),
          plan.sort,
        ).map((resource) => byResource.get(resource) as Match);
  const page = sorted.slice(plan.offset, plan.offset + plan.count);
  const included = await resolveIncludes(scope, page, plan);
  const patients = new Set([...page, ...included].map((m) => m.version.patientId));
  const entity = `${resourceType}?${[...new Set([...query.keys()])].sort().join(',')}`;
  await parts.store.commitMany([], searchAudits(scope, entity, patients, namedValues));
  for (const version of scope.unverified.values()) {
    try {
      options.onIntegrityFailure?.({
        resourceType: version.resourceType,
        id: version.id,
        versionId: version.versionId,
        patientId: version.patientId,
      });
    } catch {
      // The alert's failure is its own to report; the search still answers.
    }
  }
  return {
    resources: page.map((m) => shape(plan, parts.store.served(m.resource, m.version, context))),
    included: included.map((m) => parts.store.served(m.resource, m.version, context)),
    ...(plan.total === 'accurate' ? { total: sorted.length } : {}),
    ignored: plan.ignored,
    issues: plan.issues,
    applied: plan.applied,
    offset: plan.offset,
    count: plan.count,
    more: plan.count > 0 && sorted.length > plan.offset + plan.count,
    unverified: scope.unverified.size,
  };
}

/**
 * The search's AuditEvents, written in one log commit: one per patient whose data is returned, a
 * denial (outcome 4) per patient refused and returned nothing (another member's), a failure (outcome
 * 8) per record that did not verify, and entries with no patient when nothing is returned: as many as
 * the patients the query names (noteRefusedByName), less the denials, and at least one. A refused
 * patient's denial stands in for one of those, so the entries a member's search leaves do not tell an
 * existing refused patient from a made-up one.
 */
function searchAudits(
  scope: SearchScope,
  entity: string,
  patients: ReadonlySet<string>,
  namedValues: number,
): AuditSpec[] {
  const base = { interaction: 'search-type', context: scope.context } as const;
  const audits: AuditSpec[] = [];
  for (const [patient, reason] of scope.refusedPatients) {
    if (!patients.has(patient))
      audits.push({ ...base, entity, patient, outcome: 'denied', outcomeDescription: reason });
  }
  for (const version of scope.unverified.values()) {
    audits.push({
      ...base,
      entity: `${version.resourceType}/${version.id}`,
      patient: version.patientId,
      outcome: 'failed',
      outcomeDescription: 'integrity check failed: the stored version does not decrypt',
    });
  }
  for (const patient of patients)
    audits.push({ ...base, entity, patient, breakGlass: scope.breakGlassPatients.has(patient) });
  if (patients.size === 0) {
    const denials = audits.filter((a) => a.outcome === 'denied').length;
    for (let i = denials; i < Math.max(1, namedValues); i++)
      audits.push({ ...base, entity, patient: '', breakGlass: false });
  }
  return audits;
}

interface Match {
  readonly resource: Resource;
  readonly version: StoredVersion;
}

/** `_elements` wins over `_summary` (R4 lists no combination; the narrower request is kept). */
function shape(plan: SearchPlan, resource: Resource): Resource {
  if (plan.elements !== undefined) return selectElements(resource, plan.elements);
  if (plan.summary !== undefined) return summarizeResource(resource, plan.summary);
  return resource;
}

/** The visible current resources matching a resolved plan, in index order, at most `limit`. */
async function findMatches(scope: SearchScope, plan: SearchPlan, limit: number): Promise<Match[]> {
  const matches: Match[] = [];
  if (limit <= 0) return matches;
  const descending = indexOrder(plan) === 'descending';
  const { resourceType, indexFilters, id } = plan;
  // A bounded search reads its candidates a page at a time and stops once it has its matches.
  const pages = Number.isFinite(limit)
    ? new CandidatePages(scope, resourceType, indexFilters, id, descending, limit)
    : undefined;
  for (
    let page =
      pages === undefined
        ? await candidatesOf(scope, resourceType, indexFilters, id, descending)
        : await pages.next();
    page !== undefined;
    page = await pages?.next()
  ) {
    for (const candidate of page) {
      const resource = await openVerified(scope, candidate);
      if (resource === undefined) continue;
      if (matchesSearch(resource, plan) && (await isVisible(scope, candidate, resource)))
        matches.push({ resource, version: candidate });
      if (matches.length >= limit) return matches;
    }
  }
  return matches;
}

/** Resolves every chained and `_has` parameter of `plan` by searching what the requester may see. */
async function resolveJoins(scope: SearchScope, plan: SearchPlan, depth: number): Promise<SearchPlan> {
  if (plan.joins.length === 0) return plan;
  const results: JoinResult[] = [];
  for (const join of plan.joins) results.push(await resolveJoin(scope, plan.resourceType, join, depth));
  return withJoinResults(plan, results, scope.parts.store.searchHash);
}

async function resolveJoin(
  scope: SearchScope,
  resourceType: string,
  join: SearchJoin,
  depth: number,
): Promise<JoinResult> {
  const innerTypes = join.kind === 'chain' ? join.targetTypes : [join.sourceType];
  const found = new Set<string>();
  for (const innerType of innerTypes) {
    const inner = planSearch(
      innerType,
      new URLSearchParams(join.inner as [string, string][]),
      scope.parts.store.searchHash,
      {
        handling: scope.handling,
        now: scope.now,
        ...(scope.valueSets === undefined ? {} : { valueSets: scope.valueSets }),
      },
    );
    if (inner.ignored.length > 0) return { join, ignored: inner.issues };
    const resolved = await resolveJoins(scope, inner, depth + 1);
    if (resolved.ignored.length > 0) return { join, ignored: resolved.issues };
    for (const { resource } of await findMatches(scope, resolved, Infinity)) {
      if (join.kind === 'chain') {
        found.add(`${innerType}/${resource.id}`);
        continue;
      }
      const param = getSearchParam(innerType, join.param);
      if (param === undefined) continue;
      for (const reference of extractReferences(evaluateSearchParam(resource, param))) {
        if (reference.id !== undefined && reference.normalized === `${resourceType}/${reference.id}`)
          found.add(reference.id);
      }
    }
  }
  return { join, matches: found };
}

/**
 * `_include` (the resources the page's references point to, through the named search parameter) and
 * `_revinclude` (resources of another type whose parameter points at a page resource), each filtered
 * by the requester's scope like the page itself. `:iterate` targets are applied again to what the last
 * round included (R4 §3.1.1.5.4), until nothing new is found or the bounds are reached.
 */
async function resolveIncludes(
  scope: SearchScope,
  page: readonly Match[],
  plan: SearchPlan,
): Promise<Match[]> {
  const { store } = scope.parts;
  const seen = new Set(page.map((m) => `${m.resource.resourceType}/${m.resource.id}`));
  const out: Match[] = [];
  const add = async (version: StoredVersion | undefined, into: Match[], opened?: Resource): Promise<void> => {
    if (version === undefined || version.deleted || out.length >= MAX_INCLUDED) return;
    const key = `${version.resourceType}/${version.id}`;
    if (seen.has(key)) return;
    seen.add(key);
    if (!(await mayTouch(scope, version))) return;
    const resource = opened ?? (await openVerified(scope, version));
    if (resource === undefined || !(await isVisible(scope, version, resource))) return;
    const match = { resource, version };
    out.push(match);
    into.push(match);
  };
  let frontier: readonly Match[] = page;
  for (let round = 0; round < MAX_INCLUDE_ROUNDS && frontier.length > 0; round++) {
    const next: Match[] = [];
    const iterating = round > 0;
    for (const target of plan.include) {
      if (iterating && target.modifier !== 'iterate') continue;
      const param = getSearchParam(target.resourceType, target.searchParam);
      if (param === undefined) continue;
      for (const { resource } of frontier.filter((m) => m.resource.resourceType === target.resourceType)) {
        for (const ref of extractReferences(evaluateSearchParam(resource, param))) {
          const [type, id] = ref.normalized.split('/');
          if (type === undefined || id === undefined || ref.id === undefined) continue;
          if (target.targetType !== undefined && target.targetType !== type) continue;
          await add(await store.storage.current(type, id), next);
        }
      }
    }
    for (const target of plan.revinclude) {
      if (iterating && target.modifier !== 'iterate') continue;
      const param = getSearchParam(target.resourceType, target.searchParam);
      for (const { resource } of frontier) {
        if (param === undefined || (param.target.length > 0 && !param.target.includes(resource.resourceType)))
          continue;
        const reverse = planSearch(
          target.resourceType,
          new URLSearchParams({ [target.searchParam]: `${resource.resourceType}/${resource.id}` }),
          store.searchHash,
          { handling: 'lenient', now: plan.now },
        );
        for (const candidate of await candidatesOf(scope, target.resourceType, reverse.indexFilters)) {
          if (seen.has(`${candidate.resourceType}/${candidate.id}`)) continue;
          const opened = await openVerified(scope, candidate);
          if (opened !== undefined && matchesSearch(opened, reverse)) await add(candidate, next, opened);
        }
      }
    }
    frontier = next;
  }
  return out;
}
