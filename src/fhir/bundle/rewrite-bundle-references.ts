import { createHash, randomUUID } from 'node:crypto';

/** FHIR R4 id: http://hl7.org/fhir/R4/datatypes.html#id */
const FHIR_ID = /^[A-Za-z0-9\-.]{1,64}$/;
const RESOURCE_TYPE = /^[A-Z][A-Za-z]{1,63}$/;
const CONDITIONAL_REFERENCE = /^[A-Z][A-Za-z]+\?/;

/** One entry of a Bundle, ready to be written with PUT `<type>/<id>`. */
export interface RewrittenEntry {
  /** The entry's position in `Bundle.entry` (0-based). */
  readonly index: number;
  readonly resourceType: string;
  readonly id: string;
  /** A copy of the entry's resource with its id set and its bundle-local references rewritten. */
  readonly resource: Record<string, unknown>;
}

/** An entry that cannot be written as a resource (no resource, no resourceType). */
export interface UnusableEntry {
  readonly index: number;
  readonly reason: 'no-resource' | 'no-resource-type';
}

/** A reference left as it was, with the FHIRPath-like location where it was found. */
export interface KeptReference {
  readonly index: number;
  readonly path: string;
  readonly reference: string;
}

export interface RewrittenBundle {
  readonly entries: readonly RewrittenEntry[];
  readonly unusable: readonly UnusableEntry[];
  /** `Type?identifier=…` conditional references: left as-is, the server must resolve them. */
  readonly conditionalReferences: readonly KeptReference[];
  /** `urn:uuid:` / `urn:oid:` references to no entry of this bundle: left as-is. */
  readonly unresolvedReferences: readonly KeptReference[];
}

/** True for a string that is a valid FHIR R4 `id`. Never throws. */
export function isFhirId(value: unknown): value is string {
  return typeof value === 'string' && FHIR_ID.test(value);
}

/**
 * A stable id for an entry whose fullUrl gives none: the SHA-256 of the fullUrl, so that importing the
 * same bundle twice (a resumed or repeated import) writes the same resources, never duplicates.
 */
function deriveId(fullUrl: string): string {
  return createHash('sha256').update(fullUrl).digest('hex');
}

/** The id a bundle-local fullUrl (`urn:uuid:X`, `urn:oid:X`, `…/Type/X`) carries, if it is a FHIR id. */
function idFromFullUrl(fullUrl: string): string | undefined {
  // FHIR R4 §3.1.0.1.4 (http://hl7.org/fhir/R4/bundle.html#bundle-unique): fullUrl is a URN or the
  // absolute URL of the resource; the URN's last part becomes the id only when it is a valid id.
  const urn = /^urn:(?:uuid|oid):(.+)$/.exec(fullUrl);
  if (urn !== null) return isFhirId(urn[1]) ? urn[1] : undefined;
  const last = /\/([^/]+)$/.exec(fullUrl)?.[1];
  return isFhirId(last) ? last : undefined;
}

/**
 * Turns a transaction (or batch, collection) Bundle into resources with server-ready identities, as a
 * FHIR server processing the transaction would (http://hl7.org/fhir/R4/http.html#trules): each entry's
 * `fullUrl` `urn:uuid:X` becomes `Type/X` (X kept as the id when it is a valid FHIR id, else a stable
 * hash of the fullUrl), and every `reference` string anywhere in any resource (contained resources,
 * extensions included) that names an entry's fullUrl is rewritten to that `Type/id`. An entry with
 * neither fullUrl nor id gets a fresh id from `newId` (random UUIDs by default), and so does one whose
 * `Type/id` is in `taken` (a transaction's POST that would otherwise land on a stored resource).
 * Conditional references (`Type?identifier=…`) and URNs of no entry are left as-is and listed.
 * The input is not modified.
 */
export function rewriteBundleReferences(
  bundle: { readonly entry?: readonly unknown[] },
  newId: () => string = randomUUID,
  taken: ReadonlySet<string> = new Set(),
): RewrittenBundle {
  const entries = bundle.entry ?? [];
  const targets = new Map<string, string>();
  const identities: ({ resourceType: string; id: string; resource: Record<string, unknown> } | undefined)[] =
    [];
  const unusable: UnusableEntry[] = [];
  const usedIds = new Set<string>();

  entries.forEach((raw, index) => {
    const entry = (typeof raw === 'object' && raw !== null ? raw : {}) as {
      fullUrl?: unknown;
      resource?: unknown;
    };
    const resource = entry.resource;
    if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
      unusable.push({ index, reason: 'no-resource' });
      identities.push(undefined);
      return;
    }
    const r = resource as Record<string, unknown>;
    const resourceType = r.resourceType;
    if (typeof resourceType !== 'string' || !RESOURCE_TYPE.test(resourceType)) {
      unusable.push({ index, reason: 'no-resource-type' });
      identities.push(undefined);
      return;
    }
    const fullUrl = typeof entry.fullUrl === 'string' ? entry.fullUrl : undefined;
    // An entry that names no identity (no fullUrl, no id) is a new resource with a server-assigned id
    // (R4 http.html#trules): never one derived from its position, which every Bundle shares, so a
    // second Bundle would overwrite what the first created.
    let id =
      (fullUrl === undefined ? undefined : idFromFullUrl(fullUrl)) ??
      (isFhirId(r.id) ? r.id : fullUrl === undefined ? newId() : deriveId(fullUrl));
    if (taken.has(`${resourceType}/${id}`)) id = newId();
    // Two entries of one type must not collapse into one resource.
    if (usedIds.has(`${resourceType}/${id}`))
      id = fullUrl === undefined ? newId() : deriveId(`${fullUrl}#${index}`);
    usedIds.add(`${resourceType}/${id}`);
    if (fullUrl !== undefined) targets.set(fullUrl, `${resourceType}/${id}`);
    identities.push({ resourceType, id, resource: r });
  });

  const conditionalReferences: KeptReference[] = [];
  const unresolvedReferences: KeptReference[] = [];
  const rewritten: RewrittenEntry[] = [];
  identities.forEach((identity, index) => {
    if (identity === undefined) return;
    const rewrite = (value: unknown, path: string): unknown => {
      if (Array.isArray(value)) return value.map((item, i) => rewrite(item, `${path}[${i}]`));
      if (typeof value !== 'object' || value === null) return value;
      const copy: Record<string, unknown> = {};
      for (const [key, child] of Object.entries(value)) {
        const childPath = `${path}.${key}`;
        if (key === 'reference' && typeof child === 'string') {
          const target = targets.get(child);
          if (target !== undefined) copy[key] = target;
          else {
            copy[key] = child;
            if (CONDITIONAL_REFERENCE.test(child))
              conditionalReferences.push({ index, path: childPath, reference: child });
            else if (/^urn:(?:uuid|oid):/.test(child))
              unresolvedReferences.push({ index, path: childPath, reference: child });
          }
        } else {
          copy[key] = rewrite(child, childPath);
        }
      }
      return copy;
    };
    const resource = rewrite(identity.resource, identity.resourceType) as Record<string, unknown>;
    resource.id = identity.id;
    rewritten.push({ index, resourceType: identity.resourceType, id: identity.id, resource });
  });

  return { entries: rewritten, unusable, conditionalReferences, unresolvedReferences };
}
