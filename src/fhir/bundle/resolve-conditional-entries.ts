import { CareLedgerError } from '../../errors/index.js';

/** The ids of `type` that a search finds, as the requester may see them (strict handling). */
export type FindIds = (type: string, query: URLSearchParams) => Promise<readonly string[]>;

export interface BundleEntry {
  fullUrl?: string;
  resource?: Record<string, unknown>;
  request?: {
    method?: string;
    url?: string;
    ifNoneExist?: string;
    ifMatch?: string;
    ifNoneMatch?: string;
    ifModifiedSince?: string;
  };
}

/** What became of one entry of the transaction before it is written. */
export type PreparedEntry =
  | { readonly kind: 'write'; readonly index: number; readonly entry: BundleEntry }
  /** `ifNoneExist` found the resource: nothing is written, the response names it. */
  | { readonly kind: 'exists'; readonly index: number; readonly type: string; readonly id: string }
  /** A conditional delete that matched nothing. */
  | { readonly kind: 'nothing'; readonly index: number }
  /** GET and HEAD entries, processed after the writes (R4 §3.1.0.11.2 order). */
  | { readonly kind: 'read'; readonly index: number; readonly entry: BundleEntry };

const CONDITIONAL = /^([A-Z][A-Za-z]+)\?(.*)$/;

function typeAndQuery(url: string): { type: string; query: URLSearchParams } | undefined {
  const match = CONDITIONAL.exec(url.replace(/^\//, ''));
  if (match === null) return undefined;
  return { type: match[1] as string, query: new URLSearchParams(match[2]) };
}

async function one(
  find: FindIds,
  type: string,
  query: URLSearchParams,
  what: string,
): Promise<string | undefined> {
  const ids = await find(type, query);
  if (ids.length > 1) {
    throw new CareLedgerError(
      'ERR_PRECONDITION_FAILED',
      `${what} matches more than one ${type}; nothing was written`,
    );
  }
  return ids[0];
}

/** Every `reference` string in a resource, with a setter. */
function forEachReference(node: unknown, visit: (value: string, set: (next: string) => void) => void): void {
  if (Array.isArray(node)) {
    for (const item of node) forEachReference(item, visit);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (key === 'reference' && typeof value === 'string') {
      visit(value, (next) => {
        record[key] = next;
      });
    } else forEachReference(value, visit);
  }
}

/** Whether a resource of this bundle carries the identifier a `identifier=system|value` query names. */
function hasIdentifier(resource: Record<string, unknown> | undefined, query: URLSearchParams): boolean {
  const wanted = query.get('identifier');
  if (wanted === null || [...query.keys()].length !== 1) return false;
  const [system, value] = wanted.includes('|') ? wanted.split('|', 2) : [undefined, wanted];
  const identifiers = (resource?.identifier ?? []) as { system?: string; value?: string }[];
  return identifiers.some(
    (i) => i.value === value && (system === undefined || system === '' || i.system === system),
  );
}

/**
 * Resolves the conditional parts of a transaction before anything is written (R4 http.html
 * §3.1.0.11.2): `ifNoneExist` creates that find their resource become references to it; conditional
 * URLs of PUT and DELETE become `Type/id`; conditional references (`Practitioner?identifier=…`)
 * become `Type/id` of the one resource they find, in the bundle or in the store. No match or several
 * where one is needed fails the whole transaction (412), so nothing half-resolved is written.
 * GET and HEAD entries are set aside to run after the writes. The input is not modified.
 */
export async function resolveConditionalEntries(
  entries: readonly BundleEntry[],
  find: FindIds,
): Promise<PreparedEntry[]> {
  const copies = structuredClone(entries) as BundleEntry[];
  const prepared: PreparedEntry[] = [];
  /** fullUrl of an entry whose ifNoneExist matched → `Type/id` of the existing resource. */
  const existing = new Map<string, string>();
  for (const [index, entry] of copies.entries()) {
    const method = (entry.request?.method ?? '').toUpperCase();
    const url = entry.request?.url ?? '';
    if (method === 'GET' || method === 'HEAD') {
      prepared.push({ kind: 'read', index, entry });
      continue;
    }
    if (method === 'POST' && entry.request?.ifNoneExist !== undefined) {
      const type = String(entry.resource?.resourceType ?? url);
      const query = new URLSearchParams(entry.request.ifNoneExist.replace(/^[^?]*\?/, ''));
      const id = await one(find, type, query, 'ifNoneExist');
      if (id !== undefined) {
        if (entry.fullUrl !== undefined) existing.set(entry.fullUrl, `${type}/${id}`);
        prepared.push({ kind: 'exists', index, type, id });
        continue;
      }
    }
    const conditional = typeAndQuery(url);
    if ((method === 'PUT' || method === 'DELETE' || method === 'PATCH') && conditional !== undefined) {
      const id = await one(find, conditional.type, conditional.query, `the conditional ${method}`);
      if (id === undefined) {
        if (method === 'DELETE') {
          prepared.push({ kind: 'nothing', index });
          continue;
        }
        if (method === 'PATCH') {
          throw new CareLedgerError(
            'ERR_NOT_FOUND',
            `entry ${index}: the conditional PATCH matches no resource`,
          );
        }
        // PUT with no match creates; the id comes from the fullUrl, as for a POST.
        entry.request = { ...entry.request, method: 'POST', url: conditional.type };
      } else {
        entry.request = { ...entry.request, url: `${conditional.type}/${id}` };
        if (method === 'PUT' && entry.resource !== undefined) entry.resource = { ...entry.resource, id };
      }
    }
    prepared.push({ kind: 'write', index, entry });
  }
  const writes = prepared.filter((p): p is Extract<PreparedEntry, { kind: 'write' }> => p.kind === 'write');
  for (const { entry, index } of writes) {
    const references: { value: string; set: (next: string) => void }[] = [];
    forEachReference(entry.resource, (value, set) => references.push({ value, set }));
    for (const { value, set } of references) {
      const found = existing.get(value);
      if (found !== undefined) {
        set(found);
        continue;
      }
      const conditional = typeAndQuery(value);
      if (conditional === undefined) continue;
      const inBundle = writes.filter(
        (w) =>
          w.entry.resource?.resourceType === conditional.type &&
          hasIdentifier(w.entry.resource, conditional.query),
      );
      if (inBundle.length === 1 && inBundle[0]?.entry.fullUrl !== undefined) {
        set(inBundle[0].entry.fullUrl);
        continue;
      }
      const id = await one(
        find,
        conditional.type,
        conditional.query,
        `a conditional reference of entry ${index}`,
      );
      if (id === undefined) {
        throw new CareLedgerError(
          'ERR_PRECONDITION_FAILED',
          `a conditional reference of entry ${index} matches no ${conditional.type}; nothing was written`,
          { details: { entry: index } },
        );
      }
      set(`${conditional.type}/${id}`);
    }
  }
  return prepared;
}
