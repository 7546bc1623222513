import type { Resource } from '@medplum/fhirtypes';
import { type Context, Hono } from 'hono';
import { CareLedgerError } from '../../errors/index.js';
import { parseStrictJson } from '../../fhir/parse-strict-json.js';
import { applyFhirPathPatch, applyJsonPatch } from '../../fhir/patch/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { Authenticate } from '../authenticate-request.js';
import { readJsonBody } from '../read-json-body.js';
import { FHIR_JSON, parseIfMatch, sendResource } from './fhir-response.js';

const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export interface FhirConditionalRouteDeps {
  readonly repository: FhirRepository;
  readonly authenticate: Authenticate;
  /** The resource types this node serves. */
  readonly resourceTypes: readonly string[];
}

/**
 * The patch a request carries, as a function from the current version to the next: JSON Patch
 * (RFC 6902, `application/json-patch+json`) or FHIRPath Patch (a Parameters resource,
 * `application/fhir+json`), R4 §3.1.0.5.
 */
export async function readPatch(c: Context): Promise<(current: Resource) => Resource> {
  const type = (c.req.header('content-type') ?? '').toLowerCase();
  if (type.startsWith('application/json-patch+json')) {
    const body = parseStrictJson(await c.req.text());
    return (current) => applyJsonPatch(current, body);
  }
  if (/^application\/(fhir\+)?json\b/.test(type)) {
    const body = await readJsonBody(c);
    return (current) => applyFhirPathPatch(current, body);
  }
  throw new CareLedgerError(
    'ERR_UNSUPPORTED_MEDIA_TYPE',
    'a PATCH body is application/json-patch+json (JSON Patch) or application/fhir+json (FHIRPath Patch)',
    { details: { parameter: 'Content-Type' } },
  );
}

/** The search part of a conditional URL (`PUT /Patient?identifier=...`); empty is a 400. */
function condition(c: Context): URLSearchParams {
  const params = new URL(c.req.url).searchParams;
  for (const name of ['_format', '_pretty']) params.delete(name);
  if ([...params.keys()].length === 0) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a conditional interaction needs search criteria', {
      details: { parameter: 'condition' },
    });
  }
  return params;
}

/**
 * PATCH and the conditional interactions of R4 REST (http.html §3.1.0.4.3 conditional update,
 * §3.1.0.5 patch, §3.1.0.7.1 conditional delete): every one goes through the vault gateway, judged
 * and audited as an update or a delete.
 */
export function createFhirConditionalRoutes(deps: FhirConditionalRouteDeps): Hono {
  const app = new Hono();
  const types: ReadonlySet<string> = new Set(deps.resourceTypes);
  const typeOf = (c: Context): string => {
    const type = c.req.param('type') ?? '';
    if (!types.has(type)) {
      throw new CareLedgerError(
        'ERR_NOT_FOUND',
        `this server does not serve resource type ${JSON.stringify(type)}`,
      );
    }
    return type;
  };

  app.patch('/:type/:id', async (c) => {
    const type = typeOf(c);
    const id = c.req.param('id');
    if (!ID.test(id)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'not a valid FHIR id', { details: { parameter: 'id' } });
    }
    const context = await deps.authenticate(c);
    const apply = await readPatch(c);
    const ifMatch = parseIfMatch(c.req.header('if-match'));
    return sendResource(
      c,
      await deps.repository.patch(type, id, apply, context, ifMatch === undefined ? {} : { ifMatch }),
    );
  });

  app.patch('/:type', async (c) => {
    const type = typeOf(c);
    const context = await deps.authenticate(c);
    const where = condition(c);
    const apply = await readPatch(c);
    const ifMatch = parseIfMatch(c.req.header('if-match'));
    return sendResource(
      c,
      await deps.repository.conditionalPatch(
        type,
        where,
        apply,
        context,
        ifMatch === undefined ? {} : { ifMatch },
      ),
    );
  });

  app.put('/:type', async (c) => {
    const type = typeOf(c);
    const context = await deps.authenticate(c);
    const where = condition(c);
    const body = await readJsonBody(c);
    if (body.resourceType !== type) {
      throw new CareLedgerError('ERR_INVALID_INPUT', `the body's resourceType must be ${type}`, {
        details: { expression: 'Resource.resourceType' },
      });
    }
    const ifMatch = parseIfMatch(c.req.header('if-match'));
    const { resource, created } = await deps.repository.conditionalUpdate(
      body,
      where,
      context,
      ifMatch === undefined ? {} : { ifMatch },
    );
    if (created) {
      c.header(
        'Location',
        `${new URL(c.req.url).origin}${c.req.path}/${resource.id}/_history/${resource.meta?.versionId}`,
      );
      return c.body(JSON.stringify(resource), 201, {
        'Content-Type': FHIR_JSON,
        ETag: `W/"${resource.meta?.versionId}"`,
      });
    }
    return sendResource(c, resource);
  });

  app.delete('/:type', async (c) => {
    const type = typeOf(c);
    const context = await deps.authenticate(c);
    await deps.repository.conditionalDelete(type, condition(c), context);
    return c.body(null, 204);
  });

  return app;
}
