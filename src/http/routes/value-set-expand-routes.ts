import { randomUUID } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { CareLedgerError } from '../../errors/index.js';
import { MAX_EXPANSION_COUNT } from '../../fhir/terminology/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { ExpandTarget } from '../../vault/operations/search-value-set-expand.js';
import type { Authenticate } from '../authenticate-request.js';
import { readJsonBody } from '../read-json-body.js';

/** The operation, for the CapabilityStatement's `rest.operation` (R4 valueset-operation-expand.html). */
export const EXPAND_OPERATION = {
  name: 'expand',
  definition: 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand',
} as const;

export interface ValueSetExpandRouteDeps {
  /** The expansion reads stored ValueSets through the vault (access-checked and audited). */
  readonly repository: Pick<FhirRepository, 'expandValueSet'>;
  readonly authenticate: Authenticate;
  /** The expansion's identifier; random unless a test fixes it. */
  readonly newId?: () => string;
}

const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';
/** Codes per page when `count` is not given. */
const DEFAULT_COUNT = 100;

interface ExpandParameters {
  url?: string;
  valueSet?: Record<string, unknown>;
  filter?: string;
  count?: number;
  offset?: number;
}

/**
 * ValueSet/$expand (R4 valueset-operation-expand.html): `GET|POST [base]/ValueSet/$expand` with `url`
 * (or, in a Parameters body, an inline `valueSet`) and `GET|POST [base]/ValueSet/[id]/$expand`; `filter`,
 * `count` and `offset` page the codes. The expansion needs no terminology server: what would (SNOMED
 * is-a filters, implicit `?fhir_vs` ValueSets) is refused with `not-supported`. Mount before the FHIR
 * routes under `/fhir`.
 */
export function createValueSetExpandRoutes(deps: ValueSetExpandRouteDeps): Hono {
  const app = new Hono();
  const newId = deps.newId ?? randomUUID;

  const expand = async (c: Context) => {
    const id = c.req.param('id');
    if (id !== undefined && !ID.test(id))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'not a valid FHIR id');
    const context = await deps.authenticate(c);
    const parameters = c.req.method === 'POST' ? await bodyParameters(c) : queryParameters(c);
    const target = targetOf(id, parameters);
    const expanded = await deps.repository.expandValueSet(target, context, {
      ...(parameters.filter === undefined ? {} : { filter: parameters.filter }),
      count: parameters.count ?? DEFAULT_COUNT,
      offset: parameters.offset ?? 0,
      identifier: `urn:uuid:${newId()}`,
    });
    return c.body(JSON.stringify(expanded), 200, { 'Content-Type': FHIR_JSON });
  };

  app.get('/ValueSet/$expand', expand);
  app.post('/ValueSet/$expand', expand);
  app.get('/ValueSet/:id/$expand', expand);
  app.post('/ValueSet/:id/$expand', expand);
  return app;
}

function targetOf(id: string | undefined, parameters: ExpandParameters): ExpandTarget {
  const given = [id, parameters.url, parameters.valueSet].filter((v) => v !== undefined).length;
  if (given !== 1) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      '$expand needs exactly one of: an instance ValueSet/[id], the url parameter, the valueSet parameter',
    );
  }
  if (id !== undefined) return { id };
  if (parameters.url !== undefined) return { url: parameters.url };
  const valueSet = parameters.valueSet as Record<string, unknown>;
  if (valueSet.resourceType !== 'ValueSet')
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the valueSet parameter must be a ValueSet');
  return { valueSet };
}

function queryParameters(c: Context): ExpandParameters {
  const parameters: ExpandParameters = {};
  const url = c.req.query('url');
  const filter = c.req.query('filter');
  const count = c.req.query('count');
  const offset = c.req.query('offset');
  if (url !== undefined) parameters.url = nonEmpty(url, 'url');
  if (filter !== undefined) parameters.filter = nonEmpty(filter, 'filter');
  if (count !== undefined) parameters.count = integer(count, 'count');
  if (offset !== undefined) parameters.offset = integer(offset, 'offset');
  return parameters;
}

async function bodyParameters(c: Context): Promise<ExpandParameters> {
  const body = await readJsonBody(c);
  if (body.resourceType !== 'Parameters')
    throw new CareLedgerError('ERR_INVALID_INPUT', 'POST $expand takes a Parameters resource');
  const parameters: ExpandParameters = {};
  for (const entry of Array.isArray(body.parameter) ? body.parameter : []) {
    const p = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    if (p.name === 'url') parameters.url = nonEmpty(p.valueUri ?? p.valueCanonical ?? p.valueString, 'url');
    else if (p.name === 'filter') parameters.filter = nonEmpty(p.valueString, 'filter');
    else if (p.name === 'count') parameters.count = integer(p.valueInteger, 'count');
    else if (p.name === 'offset') parameters.offset = integer(p.valueInteger, 'offset');
    else if (p.name === 'valueSet') {
      if (typeof p.resource !== 'object' || p.resource === null)
        throw new CareLedgerError('ERR_INVALID_INPUT', 'the valueSet parameter needs a resource');
      parameters.valueSet = p.resource as Record<string, unknown>;
    }
  }
  // R4 lets url, filter, count and offset also come in the query of a POST.
  return { ...queryParameters(c), ...parameters };
}

function nonEmpty(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '')
    throw new CareLedgerError('ERR_INVALID_INPUT', `the ${name} parameter needs a value`);
  return value;
}

function integer(value: unknown, name: string): number {
  const number = typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number) || number < 0)
    throw new CareLedgerError('ERR_INVALID_INPUT', `the ${name} parameter must be a non-negative integer`);
  if (name === 'count' && number > MAX_EXPANSION_COUNT)
    throw new CareLedgerError('ERR_INVALID_INPUT', `count may be at most ${MAX_EXPANSION_COUNT}`);
  return number;
}
