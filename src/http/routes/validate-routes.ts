import { type Context, Hono } from 'hono';
import { CareLedgerError } from '../../errors/index.js';
import {
  createOperationOutcome,
  type FhirIssue,
  loadFhirDefinitions,
  validateResource,
} from '../../fhir/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { Authenticate } from '../authenticate-request.js';
import { readJsonBody } from '../read-json-body.js';

/** The operation, for the CapabilityStatement's `rest.operation` (R4 resource-operation-validate.html). */
export const VALIDATE_OPERATION = {
  name: 'validate',
  definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
} as const;

export interface ValidateRouteDeps {
  /** `mode=delete` reads the stored resource through the vault (access-checked and audited). */
  readonly repository: Pick<FhirRepository, 'read'>;
  readonly authenticate: Authenticate;
}

const MODES = new Set(['create', 'update', 'delete', 'profile']);
const ID = /^[A-Za-z0-9\-.]{1,64}$/;
const FHIR_JSON = 'application/fhir+json; charset=utf-8';

interface ValidateRequest {
  readonly resource: unknown;
  readonly mode: string | undefined;
  readonly profile: string | undefined;
}

/**
 * `$validate` (R4 resource-operation-validate.html): `POST [base]/[type]/$validate` and
 * `POST [base]/[type]/[id]/$validate`, the resource as the body or in a Parameters body (`resource`,
 * `mode`, `profile`), `mode` and `profile` also as query parameters; `GET [base]/[type]/[id]/$validate`
 * (and a POST without a resource) validates the stored resource. Answers 200 with the
 * OperationOutcome whether or not the resource is valid; 400 when the request itself is malformed or
 * names a profile this node has not loaded ("If the profile is not supported, the server SHALL return
 * an error"). Nothing is stored. Mount before the FHIR routes under `/fhir`.
 */
export function createValidateRoutes(deps: ValidateRouteDeps): Hono {
  const app = new Hono();

  const validate = async (c: Context) => {
    const type = resourceTypeOf(c);
    const id = c.req.param('id');
    if (id !== undefined && !ID.test(id))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'not a valid FHIR id', { details: { parameter: 'id' } });
    const context = await deps.authenticate(c);
    const request = await readValidateRequest(c, type);

    if (request.mode === 'delete') {
      if (id === undefined) {
        throw new CareLedgerError(
          'ERR_INVALID_INPUT',
          'mode=delete needs an instance: [type]/[id]/$validate',
        );
      }
      // The requester must see the resource (the read is access-checked and audited); nothing on this
      // node refuses a delete beyond that, so the answer is that the delete would be accepted.
      await deps.repository.read(type, id, context);
      return outcome(c, [
        {
          severity: 'information',
          code: 'informational',
          diagnostics: 'The resource may be deleted',
          expression: [],
        },
      ]);
    }

    // `GET [type]/[id]/$validate` (or a POST without a resource): the stored resource is validated, read
    // through the vault (access-checked and audited) as any read; with mode=update, as its own update.
    const resource =
      request.resource ?? (id === undefined ? undefined : await deps.repository.read(type, id, context));
    if (resource === undefined) {
      throw new CareLedgerError('ERR_INVALID_INPUT', `$validate needs the ${type} resource to validate`, {
        details: { parameter: 'resource' },
      });
    }
    // The type's own core definition is what every resource is validated against anyway.
    const profile =
      request.profile?.replace(/\|4\.0\.1$/, '') === coreProfileOf(type) ? undefined : request.profile;
    if (profile !== undefined && loadFhirDefinitions().profiles.get(profile) === undefined) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'the profile is not loaded on this node', {
        details: {
          parameter: 'profile',
          issues: [
            {
              severity: 'error',
              code: 'not-supported',
              diagnostics: 'The profile is not loaded on this node',
              expression: [],
            } satisfies FhirIssue,
          ],
        },
      });
    }
    const result = validateResource(resource, profile === undefined ? {} : { profiles: [profile] });
    const issues = [...result.issues, ...modeIssues({ ...request, resource }, type, id)];
    return outcome(c, issues);
  };

  app.post('/:type/$validate', validate);
  app.post('/:type/:id/$validate', validate);
  // R4 Resource-validate does not affect state, so GET is allowed; its parameters come from the query.
  app.get('/:type/$validate', validate);
  app.get('/:type/:id/$validate', validate);
  return app;
}

/** R4's base StructureDefinition of a type, as a canonical (with or without its `|4.0.1` version). */
function coreProfileOf(type: string): string {
  return `http://hl7.org/fhir/StructureDefinition/${type}`;
}

function resourceTypeOf(c: Context): string {
  const type = c.req.param('type') ?? '';
  if (!loadFhirDefinitions().resourceTypes.has(type)) {
    throw new CareLedgerError('ERR_NOT_FOUND', 'not a FHIR R4 resource type');
  }
  return type;
}

/** R4 update: the resource's id is the URL's; create: the server assigns the id, a client's is ignored. */
function modeIssues(request: ValidateRequest, type: string, id: string | undefined): FhirIssue[] {
  const resource = request.resource as { resourceType?: unknown; id?: unknown } | null;
  const issues: FhirIssue[] = [];
  if (typeof resource !== 'object' || resource === null) return issues;
  if (resource.resourceType !== type) {
    issues.push({
      severity: 'error',
      code: 'invalid',
      diagnostics: `The resource is not a ${type}`,
      expression: [`${typeof resource.resourceType === 'string' ? 'Resource' : type}.resourceType`],
    });
  }
  if (request.mode === 'update') {
    if (typeof resource.id !== 'string') {
      issues.push({
        severity: 'error',
        code: 'required',
        diagnostics: 'An update needs the resource id',
        expression: [`${type}.id`],
      });
    } else if (id !== undefined && resource.id !== id) {
      issues.push({
        severity: 'error',
        code: 'invalid',
        diagnostics: 'The resource id is not the id in the URL',
        expression: [`${type}.id`],
      });
    }
  }
  return issues;
}

async function readValidateRequest(c: Context, type: string): Promise<ValidateRequest> {
  const queryMode = c.req.query('mode');
  const queryProfile = c.req.query('profile');
  const hasBody =
    (c.req.header('content-length') ?? '') !== '0' && c.req.header('content-type') !== undefined;
  let resource: unknown;
  let mode = queryMode;
  let profile = queryProfile;
  if (hasBody) {
    const body = await readJsonBody(c);
    // A Parameters body wraps the operation's parameters, unless a Parameters resource is validated.
    const parameters = Array.isArray(body.parameter) ? (body.parameter as unknown[]) : [];
    const isWrapper =
      body.resourceType === 'Parameters' &&
      (type !== 'Parameters' || parameters.some((p) => (p as { name?: unknown })?.name === 'resource'));
    if (isWrapper) {
      for (const parameter of parameters) {
        const p = parameter as {
          name?: unknown;
          resource?: unknown;
          valueCode?: unknown;
          valueUri?: unknown;
        };
        if (p?.name === 'resource') resource = p.resource;
        else if (p?.name === 'mode') mode = stringValue(p.valueCode, 'mode');
        else if (p?.name === 'profile')
          profile = stringValue(p.valueUri ?? (p as { valueCanonical?: unknown }).valueCanonical, 'profile');
      }
    } else {
      resource = body;
    }
  }
  if (mode !== undefined && !MODES.has(mode)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'mode must be create, update, delete or profile');
  }
  return { resource, mode, profile };
}

function stringValue(value: unknown, name: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new CareLedgerError('ERR_INVALID_INPUT', `the ${name} parameter needs a value`);
  }
  return value;
}

function outcome(c: Context, issues: readonly FhirIssue[]): Response {
  return c.body(JSON.stringify(createOperationOutcome(issues)), 200, { 'Content-Type': FHIR_JSON });
}
