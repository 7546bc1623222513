import type { Resource } from '@medplum/fhirtypes';
import type { SearchTypeResult } from '../../vault/operations/search-type.js';

/** R4 §3.1.1.2: `Prefer: handling=strict` refuses what the server cannot honour; lenient is the default. */
export function searchHandling(prefer: string | undefined): 'strict' | 'lenient' {
  return /\bhandling=strict\b/.test(prefer ?? '') ? 'strict' : 'lenient';
}

/**
 * The searchset Bundle of one search (R4 §3.1.1.4): the self link carries only the parameters the
 * server honoured, and each one it did not is named, with the reason, in an OperationOutcome entry
 * (search.mode = outcome). `origin` is the server's origin, `path` the type's search URL path.
 */
export function formatSearchBundle(
  result: SearchTypeResult,
  origin: string,
  path: string,
): Record<string, unknown> {
  const base = `${origin}${path}`;
  const url = (extra: Record<string, string>): string => {
    const params = new URLSearchParams(
      result.applied.filter(([key]) => !(key in extra)) as [string, string][],
    );
    for (const [key, value] of Object.entries(extra)) params.set(key, value);
    const text = params.toString();
    return text === '' ? base : `${base}?${text}`;
  };
  const links = [{ relation: 'self', url: url({}) }];
  const page = (offset: number) => url({ _offset: String(offset), _count: String(result.count) });
  // `more` is known when the search looked one match past the page; otherwise a full page may go on.
  if (result.more ?? (result.resources.length === result.count && result.count > 0))
    links.push({ relation: 'next', url: page(result.offset + result.count) });
  if (result.offset > 0)
    links.push({ relation: 'previous', url: page(Math.max(0, result.offset - result.count)) });
  const outcome = (resource: Resource) => ({ resource, search: { mode: 'outcome' } });
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    ...(result.total === undefined ? {} : { total: result.total }),
    link: links,
    entry: [
      ...result.resources.map((resource, i) => ({
        // A `_contained` search returns containers, of other types than the one searched, or
        // (`_containedType=contained`) contained resources, named by their container.
        fullUrl:
          result.fullUrls?.[i] !== undefined
            ? `${origin}/fhir/${result.fullUrls[i]}`
            : path.endsWith(`/${resource.resourceType}`)
              ? `${base}/${resource.id}`
              : `${origin}/fhir/${resource.resourceType}/${resource.id}`,
        resource,
        search: { mode: 'match' },
      })),
      ...result.included.map((resource) => ({
        fullUrl: `${origin}/fhir/${resource.resourceType}/${resource.id}`,
        resource,
        search: { mode: 'include' },
      })),
      ...(result.unverified === 0
        ? []
        : [
            outcome({
              resourceType: 'OperationOutcome',
              issue: [
                {
                  severity: 'error',
                  code: 'processing',
                  diagnostics: `${result.unverified} stored record(s) failed their integrity check and were left out; the operator has been alerted`,
                },
              ],
            }),
          ]),
      ...(result.issues.length === 0
        ? []
        : [
            outcome({
              resourceType: 'OperationOutcome',
              issue: result.issues.map((issue) => ({
                severity: 'warning',
                code: 'not-supported',
                diagnostics: `search parameter ${JSON.stringify(issue.parameter)} ignored: ${issue.reason}`,
                expression: [issue.parameter],
              })),
            }),
          ]),
    ],
  };
}
