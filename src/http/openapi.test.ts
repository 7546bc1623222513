import { readdirSync, readFileSync } from 'node:fs';
import { Hono } from 'hono';
import { describe, expect, test } from 'vitest';
import {
  type ClaimsRouteDeps,
  createClaimsAdminRoutes,
  createClaimsFhirRoutes,
  createClaimsRoutes,
} from '../claims/index.js';
import {
  type CredentialAdminDeps,
  createCredentialAdminRoutes,
} from '../credentials/credential-admin-routes.js';
import { createLedgerKeyEnrolmentRoutes } from '../enrolment/index.js';
import { CareLedgerError, ERROR_CODES } from '../errors/index.js';
import { type BulkExportModuleDeps, createBulkExportModule } from '../export/index.js';
import { ERROR_CODE_SYSTEM } from '../fhir/operation-outcome.js';
import { ALL_DATA_CATEGORIES, ALL_PURPOSES_OF_USE, consentTypes } from '../ledger/index.js';
import { parseTilePath } from '../log/tiles.js';
import { createPatientRightsRoutes } from '../patient-rights/index.js';
import { createPortalRoutes } from '../portal/index.js';
import {
  createResearchAdminRoutes,
  createResearchRoutes,
  type ResearchRouteDeps,
} from '../research/ledger/research-routes.js';
import { createKRoundRoutes } from '../research/release/k-round-routes.js';
import { createReleaseRoundRoutes } from '../research/release/release-round-routes.js';
import { createReleaseRoutes, type ReleaseRoutesDeps } from '../research/release/release-routes.js';
import { createShareRoutes, type ShareRouteDeps } from '../share/index.js';
import { createEpcisRoutes } from '../supply/http/epcis-routes.js';
import { createSupplyRoutes, type SupplyRouteDeps } from '../supply/http/supply-routes.js';
import { createNodeApp } from './create-node-app.js';
import { HTTP_STATUS } from './error-response.js';
import {
  createOpenApiRoute,
  openApiDocument as doc,
  ERROR_RESPONSES,
  HTTP_METHODS,
  type Operation,
  type Parameter,
} from './openapi.js';
import { createAccessRequestRoutes } from './routes/access-request-routes.js';
import { createAccountRoutes } from './routes/account-routes.js';
import { type AdminRouteDeps, createAdminRoutes } from './routes/admin-routes.js';
import { createBreakGlassRoutes } from './routes/break-glass-routes.js';
import {
  createExchangeFhirRoutes,
  createPatientViewRoutes,
  type ExchangeRoutesOptions,
} from './routes/exchange-routes.js';
import { createFhirBundleRoutes } from './routes/fhir-bundle-routes.js';
import { createFhirConditionalRoutes } from './routes/fhir-conditional-routes.js';
import { createFhirRoutes, type FhirRouteDeps } from './routes/fhir-routes.js';
import { createLedgerRoutes, type LedgerRouteDeps } from './routes/ledger-routes.js';
import { createLogRoutes, type LogRoutesSource } from './routes/log-routes.js';
import { createOAuthRoutes, type OAuthRouteDeps } from './routes/oauth-routes.js';
import {
  createPractitionerDirectoryRoutes,
  type PractitionerDirectoryDeps,
} from './routes/practitioner-directory-routes.js';
import { createValidateRoutes } from './routes/validate-routes.js';
import { createValueSetExpandRoutes } from './routes/value-set-expand-routes.js';
import { createWitnessRoutes } from './routes/witness-routes.js';

const source = (path: string) => readFileSync(new URL(path, import.meta.url), 'utf8');

/** Every operation of the document, with its path and method. */
function operations(): { path: string; method: string; operation: Operation }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    HTTP_METHODS.flatMap((method) => {
      const operation = item[method];
      return operation === undefined ? [] : [{ path, method, operation }];
    }),
  );
}

/** Every `$ref` anywhere in the document, with where it was found. */
function refs(value: unknown, at = '#'): { ref: string; at: string }[] {
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) =>
    key === '$ref' && typeof child === 'string' ? [{ ref: child, at }] : refs(child, `${at}/${key}`),
  );
}

/** RFC 6901 JSON Pointer resolution of a local reference. */
function resolve(ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const token of ref.slice(2).split('/')) {
    const key = token.replaceAll('~1', '/').replaceAll('~0', '~');
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, key)) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

/** The sub-apps the composition root mounts, built with fake dependencies only to list their routes. */
const exchangeListing = {
  exchange: {} as ExchangeRoutesOptions['exchange'],
  repository: {} as ExchangeRoutesOptions['repository'],
  authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
  practitionerAddress: () => undefined,
};
const SUB_APPS: Record<string, () => Hono> = {
  createLedgerRoutes: () => createLedgerRoutes({} as LedgerRouteDeps),
  createAdminRoutes: () => createAdminRoutes({ adminToken: 'listing-only' } as AdminRouteDeps),
  createPractitionerDirectoryRoutes: () =>
    createPractitionerDirectoryRoutes({ adminToken: 'listing-only' } as PractitionerDirectoryDeps),
  'nodeCredentials.routes': () =>
    createCredentialAdminRoutes({ adminToken: 'listing-only' } as CredentialAdminDeps),
  'logServices.logRoutes': () => createLogRoutes({} as LogRoutesSource),
  'logServices.witnessRoutes': () => createWitnessRoutes({ addCheckpoint: async () => ({}) as never }),
  createOpenApiRoute,
  'claims.fhirRoutes': () => createClaimsFhirRoutes({} as ClaimsRouteDeps),
  'claims.routes': () => createClaimsRoutes({} as ClaimsRouteDeps),
  'supply.epcisRoutes': () => createEpcisRoutes({} as SupplyRouteDeps),
  'supply.supplyRoutes': () => createSupplyRoutes({} as SupplyRouteDeps),
  'research.routes': () => createResearchRoutes({} as ResearchRouteDeps),
  'research.adminRoutes': () =>
    createResearchAdminRoutes({ adminToken: 'listing-only' } as ResearchRouteDeps),
  'researchRelease.routes': () =>
    createReleaseRoutes({
      releases: {} as ReleaseRoutesDeps['releases'],
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
      baseUrl: 'http://listing-only',
    }).route(
      '/',
      createKRoundRoutes({
        coordinator: {} as Parameters<typeof createKRoundRoutes>[0]['coordinator'],
        self: '0x0000000000000000000000000000000000000000',
        dataMembers: async () => [],
        authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
      }),
    ),
  researchRounds: () =>
    createReleaseRoundRoutes({
      rounds: {} as Parameters<typeof createReleaseRoundRoutes>[0]['rounds'],
      adminToken: 'listing-only',
      release: async () => undefined,
    }),
  'claims.adminRoutes': () => createClaimsAdminRoutes({ adminToken: 'listing-only' } as ClaimsRouteDeps),
  'bulkExport.routes': () =>
    createBulkExportModule({
      storage: {} as BulkExportModuleDeps['storage'],
      source: {} as BulkExportModuleDeps['source'],
      keys: {} as BulkExportModuleDeps['keys'],
      dir: '/nonexistent',
      resourceTypes: [],
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
      baseUrl: 'http://listing-only',
    }).routes,
  createFhirBundleRoutes: () =>
    createFhirBundleRoutes({
      repository: {} as FhirRouteDeps['repository'],
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
      resourceTypes: [],
      dispatch: async () => new Response(null),
    }),
  createFhirConditionalRoutes: () =>
    createFhirConditionalRoutes({
      repository: {} as FhirRouteDeps['repository'],
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
      resourceTypes: [],
    }),
  createFhirRoutes: () =>
    createFhirRoutes({
      repository: {} as FhirRouteDeps['repository'],
      software: { name: 'listing-only', version: '0' },
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
    }),
  createOAuthRoutes: () =>
    createOAuthRoutes({
      server: {} as OAuthRouteDeps['server'],
      users: {} as OAuthRouteDeps['users'],
      organization: 'listing-only',
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
    }),
  createShareRoutes: () =>
    createShareRoutes({
      service: {} as ShareRouteDeps['service'],
      repository: {} as ShareRouteDeps['repository'],
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
      organization: 'listing-only',
      signer: {} as ShareRouteDeps['signer'],
    }),
  createAccountRoutes: () =>
    createAccountRoutes({
      store: {} as Parameters<typeof createAccountRoutes>[0]['store'],
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
    }),
  createExchangeFhirRoutes: () => createExchangeFhirRoutes(exchangeListing),
  createPatientViewRoutes: () => createPatientViewRoutes(exchangeListing),
  createAccessRequestRoutes: () =>
    createAccessRequestRoutes({
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
    } as unknown as Parameters<typeof createAccessRequestRoutes>[0]),
  createPortalRoutes: () => createPortalRoutes({ publicDir: '/nonexistent' }),
  createValidateRoutes: () =>
    createValidateRoutes({
      repository: {} as Parameters<typeof createValidateRoutes>[0]['repository'],
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
    }),
  createValueSetExpandRoutes: () =>
    createValueSetExpandRoutes({
      repository: {} as Parameters<typeof createValueSetExpandRoutes>[0]['repository'],
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
    }),
  createLedgerKeyEnrolmentRoutes: () =>
    createLedgerKeyEnrolmentRoutes({
      enrolment: {} as Parameters<typeof createLedgerKeyEnrolmentRoutes>[0]['enrolment'],
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
    }),
  createPatientRightsRoutes: () =>
    createPatientRightsRoutes({
      repository: {} as FhirRouteDeps['repository'],
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
      nameOf: async () => undefined,
      organization: 'listing-only',
    }),
  createBreakGlassRoutes: () =>
    createBreakGlassRoutes({
      repository: {} as FhirRouteDeps['repository'],
      authenticate: async () => ({ who: 'Practitioner/listing-only', purpose: 'TREAT' }),
    }),
};

/**
 * The node's routes as the composition root (start-node.ts and its modules in node/compose/) registers
 * them: its inline `app.get(...)` routes, and the routes of each sub-app at its mount point, read from
 * Hono's `app.routes`.
 */
function codeRoutes(): { method: string; path: string }[] {
  const composeDir = new URL('../node/compose/', import.meta.url);
  const root = [
    source('../node/start-node.ts'),
    ...readdirSync(composeDir)
      .filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))
      .sort()
      .map((name) => readFileSync(new URL(name, composeDir), 'utf8')),
  ].join('\n');
  const inline = [...root.matchAll(/\bapp\.(get|post|put|patch|delete)\(\s*'([^']+)'/g)].map((m) => ({
    method: (m[1] as string).toUpperCase(),
    path: m[2] as string,
  }));
  const mounts = [...root.matchAll(/\bapp\.route\(\s*'([^']*)'\s*,\s*([A-Za-z.]+)/g)].map((m) => ({
    prefix: m[1] as string,
    factory: m[2] as string,
  }));
  expect(mounts.length).toBeGreaterThanOrEqual(5);
  // The log sub-apps are built in log-services.ts; hold it to the factories SUB_APPS uses.
  const services = source('../node/log-services.ts');
  expect(services).toMatch(/\blogRoutes: createLogRoutes\(/);
  expect(services).toMatch(/\bwitnessRoutes: createWitnessRoutes\(/);
  const app = new Hono();
  for (const { prefix, factory } of mounts) {
    const create = SUB_APPS[factory];
    if (create === undefined) throw new Error(`the composition root mounts ${factory}: add it to SUB_APPS`);
    app.route(prefix, create());
  }
  // Middleware (`app.use`) registers as method ALL; only endpoints are documented.
  return [
    ...inline,
    ...app.routes.filter((r) => r.method !== 'ALL').map(({ method, path }) => ({ method, path })),
  ];
}

/** Hono `:name` → OpenAPI `{name}`; undefined for a custom-pattern parameter (`:path{.+}`). */
function toOpenApiPath(honoPath: string): string | undefined {
  if (/:[A-Za-z0-9_]+\{/.test(honoPath)) return undefined;
  return honoPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

/** A concrete URL path for a documented path, from its parameters' examples. */
function instantiate(path: string, parameters: readonly Parameter[] = []): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const parameter = parameters.find((p) => p.in === 'path' && p.name === name);
    if (parameter?.example === undefined) throw new Error(`${path}: path parameter ${name} has no example`);
    return String(parameter.example);
  });
}

describe('OpenAPI document', () => {
  test('has the required top-level fields of OpenAPI 3.1', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(typeof doc.info.title).toBe('string');
    expect(typeof doc.info.version).toBe('string');
    expect(Object.keys(doc.paths).length).toBeGreaterThan(0);
    // It is served as JSON: nothing may be lost in serialisation (no undefined, bigint, function).
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  test('every $ref resolves', () => {
    const all = refs(doc);
    expect(all.length).toBeGreaterThan(20);
    for (const { ref, at } of all) expect(resolve(ref), `${ref} at ${at}`).toBeDefined();
  });

  test('every operation has an id, responses with descriptions, and declares its path parameters', () => {
    const ids = new Set<string>();
    for (const { path, method, operation } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(path, where).toMatch(/^\//);
      expect(ids.has(operation.operationId), `duplicate operationId ${operation.operationId}`).toBe(false);
      ids.add(operation.operationId);
      const statuses = Object.keys(operation.responses);
      expect(statuses.length, where).toBeGreaterThan(0);
      expect(
        statuses.some((s) => s.startsWith('2') || s.startsWith('3')),
        `${where} has a success response`,
      ).toBe(true);
      for (const [status, answer] of Object.entries(operation.responses)) {
        expect(status, where).toMatch(/^([1-5][0-9]{2}|[1-5]XX|default)$/);
        const resolved = ('$ref' in answer ? resolve(answer.$ref) : answer) as { description?: unknown };
        expect(typeof resolved.description, `${where} ${status}`).toBe('string');
      }
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (operation.parameters ?? []).filter((p) => p.in === 'path');
      expect(declared.map((p) => p.name).sort(), where).toEqual([...templated].sort());
      for (const p of declared) expect(p.required, `${where} ${p.name}`).toBe(true);
      for (const requirement of operation.security ?? []) {
        for (const scheme of Object.keys(requirement))
          expect(doc.components.securitySchemes).toHaveProperty(scheme);
      }
    }
  });

  test('documents exactly the routes the node registers, with the same methods and paths', async () => {
    const routes = codeRoutes();
    expect(routes.length).toBeGreaterThanOrEqual(18);
    // Each documented operation, with its parameters' examples, is routed by a router built from the
    // code's routes: it must land on a code route of its method. The tile wildcard is checked this way.
    const probe = new Hono();
    for (const r of routes) probe.on(r.method, r.path, (c) => c.text(`${r.method} ${r.path}`));
    const landed = new Set<string>();
    for (const { path, method, operation } of operations()) {
      const url = instantiate(path, operation.parameters);
      const res = await probe.request(url, { method: method.toUpperCase() });
      const target = await res.text();
      expect(res.status, `${method.toUpperCase()} ${path} (${url}) is not a route of the node`).toBe(200);
      expect(target.startsWith(`${method.toUpperCase()} `), `${method} ${path} → ${target}`).toBe(true);
      landed.add(target);
      if (url.startsWith('/log/tile/'))
        expect(() => parseTilePath(url.slice('/log/'.length)), url).not.toThrow();
    }
    for (const r of routes) {
      const key = `${r.method} ${r.path}`;
      expect(landed.has(key), `${key} is not documented`).toBe(true);
      const exact = toOpenApiPath(r.path);
      const method = r.method.toLowerCase() as (typeof HTTP_METHODS)[number];
      if (exact !== undefined) expect(doc.paths[exact]?.[method], `${key} as ${exact}`).toBeDefined();
    }
  });

  test('the log and witness endpoints use the C2SP media types', () => {
    const content = (path: string, method: 'get' | 'post', status: string) =>
      Object.keys(
        (doc.paths[path]?.[method]?.responses[status] as { content?: object } | undefined)?.content ?? {},
      );
    expect(content('/log/checkpoint', 'get', '200')).toEqual(['text/plain; charset=utf-8']);
    for (const tile of ['/log/tile/{L}/{N}', '/log/tile/{L}/{N}.p/{W}', '/log/tile/entries/{N}'])
      expect(content(tile, 'get', '200')).toEqual(['application/octet-stream']);
    expect(content('/log/proof/{index}', 'get', '200')).toEqual(['text/plain; charset=utf-8']);
    expect(content('/witness/add-checkpoint', 'post', '409')).toContain('text/x.tlog.size');
    expect(Object.keys(doc.paths['/witness/add-checkpoint']?.post?.requestBody?.content ?? {})).toEqual([
      'text/plain; charset=utf-8',
    ]);
  });

  test('every status of the error table has a shared OperationOutcome response naming its codes', () => {
    for (const code of ERROR_CODES) {
      const status = HTTP_STATUS[code];
      const named = Object.entries(ERROR_RESPONSES).filter(([name]) =>
        doc.components.responses[name]?.description.includes(`${code}`),
      );
      expect(
        named.map(([, s]) => s),
        code,
      ).toEqual([status]);
    }
    for (const r of Object.values(doc.components.responses)) {
      expect(r.content).toEqual({
        'application/fhir+json': { schema: { $ref: '#/components/schemas/OperationOutcome' } },
      });
    }
    expect(doc.components.responses.Unavailable?.headers).toHaveProperty('Retry-After');
    expect(doc.components.responses.Unauthorized?.headers).toHaveProperty('WWW-Authenticate');
    const statuses = new Set(operations().flatMap(({ operation }) => Object.keys(operation.responses)));
    for (const status of ['400', '401', '403', '404', '409', '413', '422', '503'])
      expect(statuses).toContain(status);
  });

  test('real error answers of the node match the documented OperationOutcome responses', async () => {
    const outcome = doc.components.schemas.OperationOutcome?.properties?.issue?.items?.properties ?? {};
    for (const code of ERROR_CODES) {
      const app = createNodeApp();
      app.get('/fail', () => {
        throw new CareLedgerError(code, 'documented failure');
      });
      const res = await app.request('/fail');
      expect(res.status, code).toBe(HTTP_STATUS[code]);
      expect(res.headers.get('content-type'), code).toMatch(/^application\/fhir\+json/);
      if (res.status === 503) expect(res.headers.get('retry-after'), code).toMatch(/^[0-9]+$/);
      const body = (await res.json()) as { resourceType: string; issue: Record<string, unknown>[] };
      expect(body.resourceType).toBe('OperationOutcome');
      const [first] = body.issue;
      for (const key of Object.keys(first ?? {}))
        expect(outcome, `${code}: issue.${key}`).toHaveProperty(key);
      expect(outcome.code?.enum).toContain(first?.code);
      expect(outcome.severity?.enum).toContain(first?.severity);
      expect(first?.details).toEqual({ coding: [{ system: ERROR_CODE_SYSTEM, code }], text: code });
    }
  });

  test('admin operations need the bearer token; nothing else does', () => {
    expect(doc.components.securitySchemes.operatorToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const { path, operation } of operations()) {
      expect(operation.security !== undefined, path).toBe(path.startsWith('/admin/'));
      if (path.startsWith('/admin/')) expect(operation.responses).toHaveProperty('401');
    }
  });

  test('Grant and Revoke describe the EIP-712 domain and types, and names come from codes.ts', () => {
    const { Grant, Revoke, DataCategory, PurposeOfUse } = doc.components.schemas;
    for (const [schema, primary] of [
      [Grant, 'Grant'],
      [Revoke, 'Revoke'],
    ] as const) {
      expect(schema?.description).toContain("name: 'CareLedger ConsentRegistry', version: '1'");
      expect(schema?.description).toContain('chain.contracts.consentRegistry');
      expect(schema?.['x-eip712']).toMatchObject({
        primaryType: primary,
        types: { [primary]: consentTypes[primary] },
      });
    }
    expect(Revoke?.required).toEqual(consentTypes.Revoke.map((f) => f.name));
    // Decision 0013: the relay body is flat; the signed Grant nests Terms, whose hash alone goes on chain.
    expect(Grant?.required).toEqual([
      'patient',
      'grantee',
      'categories',
      'purposes',
      'salt',
      'notBefore',
      'notAfter',
      'nonce',
    ]);
    expect(Grant?.['x-eip712']).toMatchObject({ types: { Terms: consentTypes.Terms } });
    expect(Grant?.description).toContain(
      'Grant(address patient,address grantee,Terms terms,uint64 notBefore,uint64 notAfter,uint256 nonce)Terms(uint256 categories,uint256 purposes,bytes32 salt)',
    );
    expect(DataCategory?.enum).toEqual(ALL_DATA_CATEGORIES);
    expect(PurposeOfUse?.enum).toEqual(ALL_PURPOSES_OF_USE);
    for (const name of ALL_DATA_CATEGORIES)
      expect(Grant?.properties?.categories?.description).toContain(`\`${name}\``);
  });

  test('GET /openapi.json serves the document as JSON', async () => {
    const res = await createOpenApiRoute().request('/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await res.json()).toEqual(JSON.parse(JSON.stringify(doc)));
  });
});
