import type { Resource } from '@medplum/fhirtypes';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import {
  CONTAINED_TYPE_PARAM,
  containedParam,
  containedTypeHash,
} from '../../fhir/search/contained-index-entries.js';
import {
  MAX_SEARCH_COUNT,
  matchesSearch,
  planSearch,
  SEARCHABLE_RESOURCE_TYPES,
  type SearchHandling,
} from '../../fhir/search/index.js';
import { parseContainedSearch, unsupportedInContainedSearch } from '../../fhir/search/plan-contained.js';
import type { SearchPlan } from '../../fhir/search/plan-search.js';
import { selectElements, summarizeResource } from '../../fhir/search/subset-resource.js';
import type { AddressMemo } from '../access-gate.js';
import type { StoredVersion } from '../record-storage.js';
import type { AuditSpec } from '../sealed-record-store.js';
import type { GatewayParts } from './gateway-parts.js';
import type { SearchScope } from './search-scope.js';
import { type SearchTypeResult, searchType } from './search-type.js';
import { expandLater, loadValueSetLookup, valueSetCanonicals } from './search-value-sets.js';

interface Match {
  readonly resource: Resource;
  readonly version: StoredVersion;
  /** The contained resources of `resource` that match (served on their own with `_containedType=contained`). */
  readonly inner: readonly Resource[];
}

/** One searchset entry: a container, or a contained resource with its `Container/id#localId` fullUrl. */
interface Served {
  readonly resource: Resource;
  readonly fullUrl?: string;
  readonly patientId?: string;
}

/** The query without `_contained`, `_containedType` and the given keys, with `extra` set. */
function withoutContained(
  query: URLSearchParams,
  drop: readonly string[],
  extra: Record<string, string> = {},
): URLSearchParams {
  const kept = new URLSearchParams(
    [...query].filter(([key]) => !['_contained', '_containedType', ...drop].includes(key)),
  );
  for (const [key, value] of Object.entries(extra)) kept.set(key, value);
  return kept;
}

/**
 * `_contained=true|both` (R4 search.html §3.1.1.5.x): the criteria apply to the resources of
 * `resourceType` contained in other resources, and a match is returned as its container (R4's default
 * `_containedType=container`) or, with `_containedType=contained`, as each matching contained resource
 * itself, whose fullUrl is its container's with the local id as fragment (`Container/id#localId`). Containers are found through their blind-index rows for what they
 * contain (src/fhir/search/contained-index-entries.ts), one SQL lookup per container type, so only
 * containers holding a contained resource of that type whose indexed values match are decrypted; each
 * is judged by the access gate like any search result, and every patient returned is audited. `both`
 * adds the resources that stand alone (an ordinary search, at most MAX_SEARCH_COUNT of them).
 * Combinations this server does not run (NOT_WITH_CONTAINED) are a 400 under strict handling; lenient
 * handling leaves the parameter out and says so in the Bundle.
 */
export async function searchContained(
  parts: GatewayParts,
  resourceType: string,
  query: URLSearchParams,
  context: AccessContext,
  options: { readonly handling: SearchHandling },
): Promise<SearchTypeResult> {
  const refused = unsupportedInContainedSearch(query);
  if (refused !== undefined) {
    if (options.handling === 'strict') {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        `Search parameter ${JSON.stringify(refused.parameter)}: ${refused.reason}`,
        { details: { parameter: refused.parameter, reason: refused.reason } },
      );
    }
    const issue = { parameter: refused.parameter, reason: refused.reason };
    const plain = await searchType(parts, resourceType, withoutContained(query, []), context, options);
    return { ...plain, ignored: [...plain.ignored, '_contained'], issues: [...plain.issues, issue] };
  }
  const now = parts.store.now().getTime();
  const planOptions = { handling: options.handling, now, contained: true };
  let plan = planSearch(resourceType, query, parts.store.searchHash, {
    ...planOptions,
    valueSets: expandLater,
  });
  const requester = await parts.gate.admit('search-type', context, {
    entity: `${resourceType}?`,
    resourceType,
  });
  const memo: AddressMemo = new Map();
  if (valueSetCanonicals(query).length > 0) {
    const scope: SearchScope = {
      ...{ parts, requester, context, handling: options.handling, now, memo },
      ...{
        visible: new Map(),
        breakGlassPatients: new Set(),
        refusedPatients: new Map(),
        unverified: new Map(),
      },
    };
    const valueSets = await loadValueSetLookup(scope, query);
    plan = planSearch(resourceType, query, parts.store.searchHash, { ...planOptions, valueSets });
  }
  const breakGlass = new Set<string>();
  const found: Match[] = [];
  let unverified = 0;
  for (const containerType of SEARCHABLE_RESOURCE_TYPES) {
    const filters = [
      {
        param: CONTAINED_TYPE_PARAM,
        hashes: [containedTypeHash(parts.store.searchHash, containerType, resourceType)],
      },
      ...plan.indexFilters.map((f) => ({ param: containedParam(f.param), hashes: f.hashes })),
    ];
    for (const version of await parts.store.storage.searchCandidates(containerType, filters)) {
      let container: Resource | undefined;
      try {
        container = await parts.store.openUnlessErased(version);
      } catch (error) {
        if (!(error instanceof CareLedgerError) || error.code !== 'ERR_DECRYPT') throw error;
        unverified += 1;
        continue;
      }
      const inner = container === undefined ? [] : matchingContained(container, resourceType, plan);
      if (container === undefined || inner.length === 0) continue;
      const decision = await parts.gate.decide(
        requester,
        context,
        'search-type',
        version.patientId,
        container,
        memo,
      );
      if (!decision.allowed) continue;
      if (decision.breakGlass) breakGlass.add(version.patientId);
      found.push({ resource: container, version, inner });
    }
  }
  const { mode, returned } = parseContainedSearch(query);
  const standalone =
    mode === 'both'
      ? await searchType(
          parts,
          resourceType,
          withoutContained(query, ['_count', '_offset', '_total'], {
            _count: String(MAX_SEARCH_COUNT),
          }),
          context,
          options,
        )
      : undefined;
  const served: Served[] = found.flatMap((m): Served[] =>
    returned === 'contained'
      ? m.inner.map((inner) => ({
          resource: shape(plan, inner),
          fullUrl: `${m.resource.resourceType}/${m.resource.id}#${inner.id ?? ''}`,
          patientId: m.version.patientId,
        }))
      : [
          {
            resource: shape(plan, parts.store.served(m.resource, m.version, context)),
            patientId: m.version.patientId,
          },
        ],
  );
  const all: Served[] = [...(standalone?.resources ?? []).map((resource) => ({ resource })), ...served];
  const page = all.slice(plan.offset, plan.offset + plan.count);
  const pagePatients = new Set(page.flatMap((s) => (s.patientId === undefined ? [] : [s.patientId])));
  const entity = `${resourceType}?${[...new Set([...query.keys()])].sort().join(',')}`;
  await parts.store.commitMany([], searchAudits(context, entity, pagePatients, breakGlass));
  return {
    resources: page.map((s) => s.resource),
    ...(page.some((s) => s.fullUrl !== undefined) ? { fullUrls: page.map((s) => s.fullUrl) } : {}),
    included: [],
    ...(plan.total === 'accurate' ? { total: all.length } : {}),
    ignored: [...plan.ignored, ...(standalone?.ignored ?? [])],
    issues: [...plan.issues, ...(standalone?.issues ?? [])],
    applied: plan.applied,
    offset: plan.offset,
    count: plan.count,
    more: plan.count > 0 && all.length > plan.offset + plan.count,
    unverified: unverified + (standalone?.unverified ?? 0),
  };
}

/** The resources of the type in a container that satisfy the whole query (memory stage). */
function matchingContained(container: Resource, resourceType: string, plan: SearchPlan): Resource[] {
  const contained = (container as { contained?: Resource[] }).contained ?? [];
  return contained.filter(
    (inner) =>
      inner?.resourceType === resourceType &&
      // `_id` names the contained resource's own id (its local id within the container).
      (plan.id === undefined || plan.id.includes(inner.id ?? '')) &&
      matchesSearch(inner, plan),
  );
}

/** `_elements` wins over `_summary`, as in searchType. */
function shape(plan: SearchPlan, resource: Resource): Resource {
  if (plan.elements !== undefined) return selectElements(resource, plan.elements);
  if (plan.summary !== undefined) return summarizeResource(resource, plan.summary);
  return resource;
}

/** One AuditEvent per patient whose containers are returned; one with no patient when there are none. */
function searchAudits(
  context: AccessContext,
  entity: string,
  patients: ReadonlySet<string>,
  breakGlass: ReadonlySet<string>,
): AuditSpec[] {
  const base = { interaction: 'search-type', context, entity } as const;
  if (patients.size === 0) return [{ ...base, patient: '', breakGlass: false }];
  return [...patients].map((patient) => ({ ...base, patient, breakGlass: breakGlass.has(patient) }));
}
