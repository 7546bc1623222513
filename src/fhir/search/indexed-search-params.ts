/**
 * Search parameters whose blind-index rows are written, for the resource types whose writer indexes
 * only some (issue 16 item 2): every AuditEvent is written on the request path (one per read), so it
 * gets rows for the parameters an access history is searched by, built without FHIRPath
 * (src/audit/audit-event-index.ts). A query on any other parameter of such a type is decided in
 * memory (the residual), never through the index, so it still finds every match. A type not listed
 * here has rows for every parameter (`extractSearchIndexEntries`).
 */
const INDEXED_PARAMS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['AuditEvent', new Set(['patient', 'agent', 'entity', 'subtype'])],
]);

/** The indexed parameters of `resourceType`, or undefined when all of them are. */
export function indexedSearchParams(resourceType: string): ReadonlySet<string> | undefined {
  return INDEXED_PARAMS.get(resourceType);
}

/** Whether the blind index holds rows for this parameter of this type (so the SQL stage may use it). */
export function isIndexedSearchParam(resourceType: string, param: string): boolean {
  return INDEXED_PARAMS.get(resourceType)?.has(param) ?? true;
}
