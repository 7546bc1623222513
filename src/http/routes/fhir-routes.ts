import { randomUUID } from 'node:crypto';
import type { Patient, Resource } from '@medplum/fhirtypes';
import { type Context, Hono } from 'hono';
import type { BreakGlassSession } from '../../access/index.js';
import type { AccessContext } from '../../audit/create-audit-event.js';
import { type FhirConsentService, LEDGER_CONSENT_EXTENSION } from '../../consent/index.js';
import { CareLedgerError } from '../../errors/index.js';
import { createIpsDocument, type DocumentSigner, signDocument } from '../../fhir/ips/index.js';
import { loadSearchParameters, SEARCHABLE_RESOURCE_TYPES } from '../../fhir/search/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { Authenticate } from '../authenticate-request.js';
import { readJsonBody } from '../read-json-body.js';
import { createEverythingHandler } from './fhir-everything-route.js';
import { createFhirHistoryRoutes } from './fhir-history-routes.js';
import { readSubsetOf } from './fhir-read-subset.js';
import { FHIR_JSON, parseIfMatch, sendResource } from './fhir-response.js';
import { createFhirSystemRoutes, SYSTEM_SEARCH_PARAMS } from './fhir-system-routes.js';
import { formatSearchBundle, searchHandling } from './search-bundle.js';

/** Resource types this node serves (Core 3): the ones its search index covers. */
export const SUPPORTED_RESOURCE_TYPES = SEARCHABLE_RESOURCE_TYPES;

const TYPES: ReadonlySet<string> = new Set(SUPPORTED_RESOURCE_TYPES);
const ID = /^[A-Za-z0-9\-.]{1,64}$/;

export interface FhirRouteDeps {
  readonly repository: FhirRepository;
  readonly fhirVersion?: string;
  readonly software: { readonly name: string; readonly version: string };
  /** Who is asking and why (SMART bearer tokens; development headers when the operator allows them). */
  readonly authenticate: Authenticate;
  /** Checks the second factor a break-glass declaration needs (Core 4: TOTP); throws if it fails. */
  readonly verifySecondFactor?: (c: Context, context: AccessContext) => Promise<void>;
  /** The node's break-glass policy: the longest window, in minutes (a longer one is refused with 400). */
  readonly breakGlassMaxMinutes?: number;
  /** Consent through FHIR with the patient's signature, relayed to the ledger (Core 4). */
  readonly consent?: FhirConsentService;
  /** The SMART configuration, advertised in the CapabilityStatement's security (SMART App Launch §2.0.3). */
  readonly smart?: Record<string, unknown>;
  /** Called once a break-glass session is committed (notifications to the patient and privacy officer). */
  readonly onBreakGlass?: (session: BreakGlassSession) => Promise<void>;
  /** Issue 21: adds to a resource read here what the chain says of it (Practitioner.qualification). */
  readonly showResource?: (resource: Resource) => Promise<Resource>;
  /** `$summary`: the member that authors and signs International Patient Summaries (its ledger key). */
  readonly summary?: {
    readonly organization: string;
    readonly signer: DocumentSigner;
    readonly now?: () => Date;
    readonly uuid?: () => string;
  };
}

function resourceType(c: Context): string {
  const type = c.req.param('type') ?? '';
  if (!TYPES.has(type)) {
    throw new CareLedgerError(
      'ERR_NOT_FOUND',
      `this server does not serve resource type ${JSON.stringify(type)}`,
    );
  }
  return type;
}

function resourceId(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!ID.test(id)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'not a valid FHIR id', { details: { parameter: 'id' } });
  }
  return id;
}

/**
 * FHIR R4 REST over the vault (http://hl7.org/fhir/R4/http.html): capabilities, create, read, vread,
 * update (with If-Match), delete and instance history. Every interaction is audited by the vault.
 */
export function createFhirRoutes(deps: FhirRouteDeps): Hono {
  const app = new Hono();

  app.get('/metadata', (c) =>
    c.body(
      JSON.stringify({
        resourceType: 'CapabilityStatement',
        status: 'active',
        instantiates: ['http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data'],
        date: new Date().toISOString(),
        kind: 'instance',
        software: deps.software,
        fhirVersion: deps.fhirVersion ?? '4.0.1',
        format: ['json', 'application/fhir+json'],
        patchFormat: ['application/json-patch+json', 'application/fhir+json'],
        rest: [
          {
            mode: 'server',
            security: {
              cors: true,
              service: [
                {
                  coding: [
                    {
                      system: 'http://terminology.hl7.org/CodeSystem/restful-security-service',
                      code: 'SMART-on-FHIR',
                    },
                  ],
                },
              ],
              ...(deps.smart === undefined
                ? {}
                : {
                    extension: [
                      {
                        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
                        extension: [
                          { url: 'authorize', valueUri: deps.smart.authorization_endpoint },
                          { url: 'token', valueUri: deps.smart.token_endpoint },
                          { url: 'revoke', valueUri: deps.smart.revocation_endpoint },
                          { url: 'register', valueUri: deps.smart.registration_endpoint },
                        ],
                      },
                    ],
                  }),
              description:
                'Requests need an authenticated identity and a purpose of use; every interaction is recorded as an AuditEvent in the node transparency log.',
            },
            // history-system and search-system: src/http/routes/fhir-system-routes.ts (decision 0051).
            interaction: ['transaction', 'batch', 'history-system', 'search-system'].map((code) => ({
              code,
            })),
            searchParam: SYSTEM_SEARCH_PARAMS.map(([name, type]) => ({ name, type })),
            operation: [
              {
                name: 'everything',
                definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
              },
              { name: 'summary', definition: 'http://hl7.org/fhir/uv/ips/OperationDefinition/summary' },
              // src/http/routes/validate-routes.ts (mode create | update | delete | profile, profile).
              { name: 'validate', definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate' },
              // src/http/routes/value-set-expand-routes.ts (url, id or inline valueSet; filter, count, offset).
              { name: 'expand', definition: 'http://hl7.org/fhir/OperationDefinition/ValueSet-expand' },
              // Bulk Data v2 (src/export): system, Patient and Group level.
              ...['export', 'patient-export', 'group-export'].map((name) => ({
                name,
                definition: `http://hl7.org/fhir/uv/bulkdata/OperationDefinition/${name}`,
              })),
            ],
            resource: SUPPORTED_RESOURCE_TYPES.map((type) => ({
              type,
              versioning: 'versioned',
              readHistory: true,
              updateCreate: true,
              conditionalCreate: true,
              conditionalUpdate: true,
              conditionalDelete: 'single',
              conditionalRead: 'full-support',
              // SMART clients (fhirclient's patient.request) find the patient parameter here.
              // Once per parameter: R4 defines _id and _lastUpdated on Resource, which every type inherits.
              searchParam: [
                ...new Map(
                  [
                    // Only where the node honours them (Binary has neither; the walk checks).
                    ...(['_id', '_lastUpdated'] as const)
                      .filter((name) => loadSearchParameters().get(type)?.has(name) !== false)
                      .map((name) => ({ name, type: name === '_id' ? 'token' : 'date' })),
                    // Composites and `near` are honoured too (test/fhir/search/search-parameter-walk).
                    ...[...(loadSearchParameters().get(type)?.values() ?? [])].map((p) => ({
                      name: p.code,
                      type: p.type as string,
                    })),
                  ].map((p) => [p.name, p] as const),
                ).values(),
              ],
              interaction: [
                'read',
                'vread',
                'update',
                'patch',
                'delete',
                'history-instance',
                'history-type',
                'create',
                'search-type',
              ].map((code) => ({ code })),
            })),
          },
        ],
      }),
      200,
      { 'Content-Type': FHIR_JSON },
    ),
  );

  // `GET /_history`, `GET /?_type=`, `POST /_search`: before `/:type` takes `_history` for a type.
  app.route('/', createFhirSystemRoutes({ ...deps, resourceTypes: SUPPORTED_RESOURCE_TYPES }));

  /**
   * A Consent carrying the ledger-consent extension (nonce and the patient's EIP-712 signature) is
   * relayed to ConsentRegistry and stored with its grant id and transaction; others are plain creates.
   */
  app.post('/Consent', async (c, next) => {
    const body = (await readJsonBody(c)) as { resourceType?: unknown; extension?: { url?: string }[] };
    const onLedger =
      Array.isArray(body.extension) &&
      body.extension.some(
        (e) =>
          typeof e === 'object' && e !== null && (e as { url?: unknown }).url === LEDGER_CONSENT_EXTENSION,
      );
    if (!onLedger || deps.consent === undefined) return next();
    const context = await deps.authenticate(c);
    const { resource, created } = await deps.consent.create(body, context);
    if (created) {
      c.header(
        'Location',
        `${new URL(c.req.url).origin}/fhir/Consent/${resource.id}/_history/${resource.meta?.versionId}`,
      );
    }
    return sendResource(c, resource, created ? 201 : 200);
  });

  /** `$revoke`: a Parameters body with the patient's signed revocation (`nonce`, `signature`). */
  app.post('/Consent/:id/$revoke', async (c) => {
    if (deps.consent === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'this node relays no consent');
    const id = resourceId(c);
    const context = await deps.authenticate(c);
    const body = (await readJsonBody(c)) as {
      resourceType?: unknown;
      parameter?: { name?: string; valueString?: string }[];
    };
    const value = (name: string) =>
      (Array.isArray(body.parameter) ? body.parameter : []).find((p) => p?.name === name)?.valueString;
    const nonce = value('nonce');
    const signature = value('signature');
    if (body.resourceType !== 'Parameters' || nonce === undefined || signature === undefined) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'a Parameters body with nonce and signature (valueString) is required',
      );
    }
    return sendResource(c, await deps.consent.revoke(id, { nonce, signature }, context));
  });

  /** `$verify`: the stored Consent cross-checked against its grant on the ledger. */
  app.get('/Consent/:id/$verify', async (c) => {
    if (deps.consent === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'this node relays no consent');
    const check = await deps.consent.verify(resourceId(c), await deps.authenticate(c));
    return c.body(
      JSON.stringify({
        resourceType: 'Parameters',
        parameter: [
          { name: 'grantId', valueString: check.grantId },
          { name: 'onLedger', valueBoolean: check.onLedger },
          { name: 'matches', valueBoolean: check.matches },
          { name: 'revoked', valueBoolean: check.revoked },
          ...(check.transaction === undefined
            ? []
            : [{ name: 'transaction', valueString: check.transaction }]),
          ...(check.blockNumber === undefined
            ? []
            : [{ name: 'blockNumber', valueInteger: check.blockNumber }]),
          ...(check.reason === undefined ? [] : [{ name: 'reason', valueString: check.reason }]),
        ],
      }),
      200,
      { 'Content-Type': FHIR_JSON },
    );
  });

  app.post('/:type', async (c) => {
    const type = resourceType(c);
    const context = await deps.authenticate(c);
    const body = (await readJsonBody(c)) as { resourceType?: unknown };
    if (body.resourceType !== type) {
      throw new CareLedgerError('ERR_INVALID_INPUT', `the body's resourceType must be ${type}`, {
        details: { expression: 'Resource.resourceType' },
      });
    }
    const condition = c.req.header('if-none-exist');
    const { resource, created } =
      condition === undefined
        ? { resource: await deps.repository.create(body, context), created: true }
        : // R4 §3.1.0.8: the header holds the query part of a search URL.
          await deps.repository.conditionalCreate(
            body,
            new URLSearchParams(condition.replace(/^[^?]*\?/, '')),
            context,
          );
    if (!created) return sendResource(c, resource, 200);
    c.header(
      'Location',
      `${new URL(c.req.url).origin}${c.req.path}/${resource.id}/_history/${resource.meta?.versionId}`,
    );
    return sendResource(c, resource, 201);
  });

  // POST to the base (batch and transaction): src/http/routes/fhir-bundle-routes.ts.

  /**
   * Search (R4 §3.1.1): `Prefer: handling=strict` refuses what cannot be honoured; lenient (default)
   * leaves it out of the self link and names it in an OperationOutcome entry.
   */
  app.get('/:type', async (c) => {
    const type = resourceType(c);
    const context = await deps.authenticate(c);
    const url = new URL(c.req.url);
    const handling = searchHandling(c.req.header('prefer'));
    const result = await deps.repository.search(type, url.searchParams, context, { handling });
    return c.body(JSON.stringify(formatSearchBundle(result, url.origin, url.pathname)), 200, {
      'Content-Type': FHIR_JSON,
    });
  });

  /** R4 §3.1.1 search by POST: form parameters in the body, added to those of the URL. */
  app.post('/:type/_search', async (c) => {
    const type = resourceType(c);
    const context = await deps.authenticate(c);
    const url = new URL(c.req.url);
    if (!(c.req.header('content-type') ?? '').startsWith('application/x-www-form-urlencoded'))
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'a search by POST has an application/x-www-form-urlencoded body',
      );
    const params = new URLSearchParams(url.searchParams);
    for (const [key, value] of new URLSearchParams(await c.req.text())) params.append(key, value);
    const handling = searchHandling(c.req.header('prefer'));
    const result = await deps.repository.search(type, params, context, { handling });
    const path = url.pathname.replace(/\/_search$/, '');
    return c.body(JSON.stringify(formatSearchBundle(result, url.origin, path)), 200, {
      'Content-Type': FHIR_JSON,
    });
  });

  app.get(
    '/Patient/:id/$everything',
    createEverythingHandler({ ...deps, resourceTypes: SUPPORTED_RESOURCE_TYPES, resourceId }),
  );

  /**
   * `$summary` (IPS IG 1.1, OperationDefinition/summary): an International Patient Summary document of
   * what `$everything` shows this requester, signed by the member (src/fhir/ips/sign-document.ts).
   * Authorization and audit are `$everything`'s: the AuditEvent records the disclosure of everything the
   * summary was built from. GET, or POST without a body; no operation parameters are supported.
   */
  const summary = async (c: Context) => {
    if (deps.summary === undefined) {
      throw new CareLedgerError('ERR_NOT_FOUND', 'this node does not sign patient summaries');
    }
    const id = resourceId(c);
    const resources = await deps.repository.everything(
      id,
      await deps.authenticate(c),
      SUPPORTED_RESOURCE_TYPES,
    );
    const patient = resources.find((r): r is Patient => r.resourceType === 'Patient' && r.id === id);
    // A member whose grant leaves out "Demographics" may identify the patient but not see them.
    if (patient === undefined)
      throw new CareLedgerError(
        'ERR_CONSENT_DENIED',
        "a patient summary names the patient: the patient's grant to you does not cover Demographics",
      );
    const { organization, signer, now = () => new Date(), uuid = randomUUID } = deps.summary;
    const document = createIpsDocument({
      patient,
      resources,
      author: { name: organization, address: signer.address },
      now,
      uuid,
    });
    return c.body(JSON.stringify(await signDocument(document, signer, { now })), 200, {
      'Content-Type': FHIR_JSON,
    });
  };
  app.get('/Patient/:id/$summary', summary);
  app.post('/Patient/:id/$summary', summary);

  // Type and instance history, with paging (R4 §3.1.0.10): before `/:type/:id` takes `Type/_history`.
  app.route('/', createFhirHistoryRoutes({ ...deps, resourceType, resourceId }));

  /**
   * Break-glass: `POST /fhir/Patient/{id}/$break-glass` with a Parameters resource (`reason`, and
   * optionally `minutes`, default 60), purpose ETREAT. Answers the session as Parameters.
   */
  app.post('/Patient/:id/$break-glass', async (c) => {
    const id = resourceId(c);
    const context = await deps.authenticate(c);
    const body = (await readJsonBody(c)) as { resourceType?: unknown; parameter?: unknown };
    if (body.resourceType !== 'Parameters' || !Array.isArray(body.parameter)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'the body must be a Parameters resource');
    }
    const parameters = body.parameter as { name?: string; valueString?: unknown; valueInteger?: unknown }[];
    const reason = parameters.find((p) => p?.name === 'reason')?.valueString;
    const minutes = parameters.find((p) => p?.name === 'minutes')?.valueInteger;
    if (typeof reason !== 'string') {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a reason (valueString) is required');
    }
    if (minutes !== undefined && typeof minutes !== 'number') {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'minutes must be a valueInteger');
    }
    // Refused rather than silently shortened: the clinician must know when access ends.
    const maxMinutes = deps.breakGlassMaxMinutes ?? 60;
    if (minutes !== undefined && minutes > maxMinutes) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        `a break-glass window is at most ${maxMinutes} minutes at this node (asked for ${minutes})`,
        { details: { parameter: 'minutes', maxMinutes } },
      );
    }
    // The second factor last: a refused request does not spend the clinician's one-time code.
    if (deps.verifySecondFactor !== undefined) await deps.verifySecondFactor(c, context);
    const session = await deps.repository.declareBreakGlass(id, reason, context, minutes);
    await deps.onBreakGlass?.(session);
    return c.body(
      JSON.stringify({
        resourceType: 'Parameters',
        parameter: [
          { name: 'session', valueId: session.id },
          { name: 'patient', valueReference: { reference: `Patient/${session.patientId}` } },
          { name: 'start', valueInstant: session.startedAt },
          { name: 'end', valueInstant: session.expiresAt },
          { name: 'auditEvent', valueReference: { reference: `AuditEvent/${session.auditEventId}` } },
        ],
      }),
      200,
      { 'Content-Type': FHIR_JSON },
    );
  });

  /** `_summary`/`_elements` (fhir-read-subset.ts); a version proof covers only the whole resource. */
  const subsetFor = (c: Context, context: AccessContext) => {
    const subset = readSubsetOf(c);
    if (subset !== undefined && context.versionProofs === true) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a version proof is served with the whole resource', {
        details: { parameter: c.req.query('_elements') === undefined ? '_summary' : '_elements' },
      });
    }
    return subset ?? ((resource: Resource) => resource);
  };

  app.get('/:type/:id', async (c) => {
    const context = await deps.authenticate(c);
    const subset = subsetFor(c, context);
    const resource = await deps.repository.read(resourceType(c), resourceId(c), context);
    // What the node adds on a read (a Practitioner's licence); never to content served with a version proof.
    if (deps.showResource === undefined || context.versionProofs === true)
      return sendResource(c, subset(resource));
    return sendResource(c, subset(await deps.showResource(resource)));
  });

  app.get('/:type/:id/_history/:vid', async (c) => {
    const vid = c.req.param('vid');
    if (!/^[1-9][0-9]{0,9}$/.test(vid)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'not a version id', { details: { parameter: 'vid' } });
    }
    const context = await deps.authenticate(c);
    const subset = subsetFor(c, context);
    return sendResource(
      c,
      subset(await deps.repository.vread(resourceType(c), resourceId(c), Number(vid), context)),
    );
  });

  app.put('/:type/:id', async (c) => {
    const type = resourceType(c);
    const id = resourceId(c);
    const context = await deps.authenticate(c);
    const body = (await readJsonBody(c)) as { resourceType?: unknown; id?: unknown };
    if (body.resourceType !== type || body.id !== id) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'the body must have the resourceType and id of the URL',
        {
          details: { expression: body.resourceType !== type ? 'Resource.resourceType' : `${type}.id` },
        },
      );
    }
    const ifMatch = parseIfMatch(c.req.header('if-match'));
    const { resource, created } = await deps.repository.update(
      body,
      context,
      ifMatch === undefined ? {} : { ifMatch },
    );
    return sendResource(c, resource, created ? 201 : 200);
  });

  app.delete('/:type/:id', async (c) => {
    await deps.repository.delete(resourceType(c), resourceId(c), await deps.authenticate(c));
    return c.body(null, 204);
  });

  return app;
}
