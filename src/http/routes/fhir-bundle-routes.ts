import { STATUS_CODES } from 'node:http';
import type { Resource } from '@medplum/fhirtypes';
import { type Context, Hono } from 'hono';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { CareLedgerError } from '../../errors/index.js';
import {
  type BundleEntry,
  type PreparedEntry,
  resolveConditionalEntries,
} from '../../fhir/bundle/resolve-conditional-entries.js';
import { applyFhirPathPatch, applyJsonPatch } from '../../fhir/patch/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { Authenticate } from '../authenticate-request.js';
import { toErrorResponse } from '../error-response.js';
import { readJsonBody } from '../read-json-body.js';

const FHIR_JSON = 'application/fhir+json; charset=utf-8';

/**
 * The most entries a batch runs: each one is a whole request through the node's routes, run in
 * process where load shedding does not see it, so one small request could otherwise ask for hundreds
 * of thousands of searches (security review, issue 14). Larger work is split by the client.
 */
export const MAX_BATCH_ENTRIES = 1_000;

export interface FhirBundleRouteDeps {
  readonly repository: FhirRepository;
  readonly authenticate: Authenticate;
  /** The resource types this node serves. */
  readonly resourceTypes: readonly string[];
  /**
   * Runs one request through the node's own FHIR routes (the same authentication, access decision
   * and audit as over HTTP); a batch entry and a transaction's reads are such requests.
   */
  readonly dispatch: (request: Request) => Promise<Response>;
}

/** `201 Created`: the status line of a Bundle response entry (R4 Bundle.entry.response.status). */
function status(code: number): string {
  return `${code} ${STATUS_CODES[code] ?? ''}`.trim();
}

/** The credentials of the Bundle's request, which every entry is made with (R4 §3.1.0.11). */
function credentialHeaders(c: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.req.header())) {
    if (name === 'authorization' || name.startsWith('x-careledger-')) headers[name] = value;
  }
  return headers;
}

/** The body and Content-Type of an entry's request (a PATCH's Binary carries a JSON Patch). */
function entryBody(entry: BundleEntry): { body?: string; contentType?: string } {
  const resource = entry.resource;
  if (resource === undefined) return {};
  if (resource.resourceType === 'Binary' && (entry.request?.method ?? '').toUpperCase() === 'PATCH') {
    const data =
      typeof resource.data === 'string' ? Buffer.from(resource.data, 'base64').toString('utf8') : '';
    return { body: data, contentType: String(resource.contentType ?? 'application/json-patch+json') };
  }
  return { body: JSON.stringify(resource), contentType: 'application/fhir+json' };
}

/** One entry as a request to the node's own routes, and its answer as a response entry. */
async function runEntry(
  c: Context,
  deps: FhirBundleRouteDeps,
  entry: BundleEntry,
): Promise<Record<string, unknown>> {
  const method = (entry.request?.method ?? '').toUpperCase();
  const url = entry.request?.url ?? '';
  if (!['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'].includes(method) || url === '') {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      'an entry needs request.method (GET, HEAD, POST, PUT, PATCH, DELETE) and request.url',
    );
  }
  const base = `${new URL(c.req.url).origin}/fhir/`;
  const target = new URL(url.replace(/^\//, ''), base);
  if (!target.href.startsWith(base) || target.pathname === '/fhir/' || target.pathname === '/fhir') {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      'an entry request.url is a path relative to this server base, not the base itself',
    );
  }
  const headers: Record<string, string> = { ...credentialHeaders(c) };
  const request = entry.request ?? {};
  if (request.ifMatch !== undefined) headers['if-match'] = request.ifMatch;
  if (request.ifNoneExist !== undefined) headers['if-none-exist'] = request.ifNoneExist;
  if (request.ifNoneMatch !== undefined) headers['if-none-match'] = request.ifNoneMatch;
  if (request.ifModifiedSince !== undefined) headers['if-modified-since'] = request.ifModifiedSince;
  const { body, contentType } =
    method === 'GET' || method === 'HEAD' || method === 'DELETE' ? {} : entryBody(entry);
  if (contentType !== undefined) headers['content-type'] = contentType;
  const response = await deps.dispatch(
    new Request(target, { method, headers, ...(body === undefined ? {} : { body }) }),
  );
  const text = await response.text();
  const parsed = text === '' ? undefined : (JSON.parse(text) as Resource);
  const ok = response.status < 400;
  return {
    ...(ok && parsed !== undefined && method !== 'HEAD' ? { resource: parsed } : {}),
    response: {
      status: status(response.status),
      ...(response.headers.get('location') === null ? {} : { location: response.headers.get('location') }),
      ...(response.headers.get('etag') === null ? {} : { etag: response.headers.get('etag') }),
      ...(response.headers.get('last-modified') === null
        ? {}
        : { lastModified: new Date(response.headers.get('last-modified') as string).toISOString() }),
      ...(!ok && parsed !== undefined ? { outcome: parsed } : {}),
    },
  };
}

/** A transaction's PATCH entry, applied now to the current version and written as its PUT. */
async function patchAsPut(
  deps: FhirBundleRouteDeps,
  entry: BundleEntry,
  context: AccessContext,
): Promise<BundleEntry> {
  const [type, id] = (entry.request?.url ?? '').split('/');
  if (type === undefined || id === undefined || id === '') {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a PATCH entry needs request.url Type/id');
  }
  const current = await deps.repository.read(type, id, context);
  if (
    entry.request?.ifMatch !== undefined &&
    `W/"${current.meta?.versionId}"` !== entry.request.ifMatch.trim()
  ) {
    throw new CareLedgerError(
      'ERR_PRECONDITION_FAILED',
      "a PATCH entry's ifMatch is not the current version; nothing was written",
    );
  }
  const resource = entry.resource;
  const patched =
    resource?.resourceType === 'Binary'
      ? applyJsonPatch(
          current,
          JSON.parse(Buffer.from(String(resource.data ?? ''), 'base64').toString('utf8')),
        )
      : applyFhirPathPatch(current, resource);
  const { meta: _meta, ...rest } = patched;
  return {
    ...entry,
    resource: rest as Record<string, unknown>,
    request: { method: 'PUT', url: `${type}/${id}` },
  };
}

/**
 * `POST /fhir` with a batch or transaction Bundle (R4 http.html §3.1.0.11). A batch runs each entry
 * on its own through the node's FHIR routes (every kind: read, vread, search, history, create,
 * update, patch, delete, conditional ones too). A transaction resolves its conditional parts, writes
 * everything in one commit or nothing, then runs its GET entries; the response has one entry per
 * request entry, in the same order.
 */
export function createFhirBundleRoutes(deps: FhirBundleRouteDeps): Hono {
  const app = new Hono();
  const types: ReadonlySet<string> = new Set(deps.resourceTypes);

  app.post('/', async (c) => {
    const context = await deps.authenticate(c);
    const bundle = (await readJsonBody(c)) as { resourceType?: unknown; type?: unknown; entry?: unknown };
    if (bundle.resourceType !== 'Bundle' || (bundle.type !== 'transaction' && bundle.type !== 'batch')) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'POST to the base takes a Bundle of type transaction or batch',
      );
    }
    if (bundle.entry !== undefined && !Array.isArray(bundle.entry)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'Bundle.entry must be an array');
    }
    const entries = (bundle.entry ?? []) as BundleEntry[];
    if (bundle.type === 'batch') {
      if (entries.length > MAX_BATCH_ENTRIES) {
        throw new CareLedgerError(
          'ERR_INVALID_INPUT',
          `a batch runs at most ${MAX_BATCH_ENTRIES} entries (this one has ${entries.length}); send it in parts`,
          { details: { maxEntries: MAX_BATCH_ENTRIES } },
        );
      }
      const responses = [];
      for (const entry of entries) {
        try {
          responses.push(await runEntry(c, deps, entry));
        } catch (error) {
          const { status: code, body } = toErrorResponse(error);
          responses.push({ response: { status: status(code), outcome: body } });
        }
      }
      return c.body(
        JSON.stringify({ resourceType: 'Bundle', type: 'batch-response', entry: responses }),
        200,
        {
          'Content-Type': FHIR_JSON,
        },
      );
    }
    // A PATCH entry's resource is the patch (Parameters or Binary), not a record (R4 §3.1.0.11.1).
    const unserved = entries
      .filter((e) => (e.request?.method ?? '').toUpperCase() !== 'PATCH')
      .map((e) => e.resource?.resourceType)
      .find((t) => typeof t === 'string' && !types.has(t));
    if (unserved !== undefined) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        `this server does not serve ${unserved}; the transaction was not applied`,
      );
    }
    const find = async (type: string, query: URLSearchParams): Promise<string[]> => {
      if (!types.has(type))
        throw new CareLedgerError('ERR_INVALID_INPUT', `this server does not serve ${type}`);
      const found = await deps.repository.search(type, query, context, { handling: 'strict' });
      return found.resources.map((r) => r.id as string);
    };
    const prepared = await resolveConditionalEntries(entries, find);
    const writes: { prepared: Extract<PreparedEntry, { kind: 'write' }>; entry: BundleEntry }[] = [];
    for (const p of prepared) {
      if (p.kind !== 'write') continue;
      const entry =
        (p.entry.request?.method ?? '').toUpperCase() === 'PATCH'
          ? await patchAsPut(deps, p.entry, context)
          : p.entry;
      writes.push({ prepared: p, entry });
    }
    const results =
      writes.length === 0
        ? []
        : await deps.repository.transaction(
            { resourceType: 'Bundle', type: 'transaction', entry: writes.map((w) => w.entry) },
            context,
          );
    const response: Record<string, unknown>[] = new Array(entries.length);
    // Results come in the order the vault writes: the non-DELETE entries in order, then the DELETEs it found.
    const nonDeletes = writes.filter((w) => (w.entry.request?.method ?? '').toUpperCase() !== 'DELETE');
    const stored = results.filter((r) => !r.deleted);
    nonDeletes.forEach((w, i) => {
      const r = stored[i];
      if (r === undefined) return;
      response[w.prepared.index] = {
        response: {
          status: status(r.created ? 201 : 200),
          location: `${r.type}/${r.id}/_history/${r.versionId}`,
          etag: `W/"${r.versionId}"`,
        },
      };
    });
    for (const w of writes) {
      if ((w.entry.request?.method ?? '').toUpperCase() !== 'DELETE') continue;
      const [type, id] = (w.entry.request?.url ?? '').split('/');
      const r = results.find((x) => x.deleted && x.type === type && x.id === id);
      response[w.prepared.index] = {
        response: { status: status(204), ...(r === undefined ? {} : { etag: `W/"${r.versionId}"` }) },
      };
    }
    for (const p of prepared) {
      if (p.kind === 'exists') {
        response[p.index] = { response: { status: status(200), location: `${p.type}/${p.id}` } };
      } else if (p.kind === 'nothing') {
        response[p.index] = { response: { status: status(204) } };
      }
    }
    // R4 §3.1.0.11.2: reads last, after every write, so they see the transaction's result.
    for (const p of prepared) {
      if (p.kind !== 'read') continue;
      try {
        response[p.index] = await runEntry(c, deps, p.entry);
      } catch (error) {
        const { status: code, body } = toErrorResponse(error);
        response[p.index] = { response: { status: status(code), outcome: body } };
      }
    }
    return c.body(
      JSON.stringify({
        resourceType: 'Bundle',
        type: 'transaction-response',
        entry: [...response].map((e) => e ?? { response: { status: status(200) } }),
      }),
      200,
      { 'Content-Type': FHIR_JSON },
    );
  });

  return app;
}
