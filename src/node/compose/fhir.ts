import type { Hono } from 'hono';
import { bytesToHex, hexToBytes } from 'viem';
import type { AccessContext } from '../../audit/create-audit-event.js';
import type { ConsentOpeningStore } from '../../consent/index.js';
import { FhirConsentService } from '../../consent/index.js';
import { createLedgerKeyEnrolmentRoutes, LedgerKeyEnrolment } from '../../enrolment/index.js';
import { ExchangeService } from '../../exchange/index.js';
import type { Authenticate } from '../../http/authenticate-request.js';
import { corsPolicy } from '../../http/middleware/cors-policy/index.js';
import { createExchangeFhirRoutes, createPatientViewRoutes } from '../../http/routes/exchange-routes.js';
import { createFhirBundleRoutes } from '../../http/routes/fhir-bundle-routes.js';
import { createFhirConditionalRoutes } from '../../http/routes/fhir-conditional-routes.js';
import { createFhirRoutes, SUPPORTED_RESOURCE_TYPES } from '../../http/routes/fhir-routes.js';
import { createValidateRoutes } from '../../http/routes/validate-routes.js';
import { createValueSetExpandRoutes } from '../../http/routes/value-set-expand-routes.js';
import { type ConsortiumLedger, createConsentDomain } from '../../ledger/index.js';
import type { ChainIndexer } from '../../sync/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import { allowedOrigins, DEFAULT_BREAK_GLASS_MAX_MINUTES } from '../node-config.js';
import type { NodeAuth } from './auth.js';
import type { createBreakGlassHooks } from './break-glass.js';
import type { createCredentials } from './credentials.js';
import type { NodeBase } from './node-base.js';

/**
 * FHIR operations mounted before the generic FHIR routes (`/:type/:id` would take them): records
 * between members (Core 5), $validate, ValueSet/$expand, key enrolment, and the patient's view
 * across members at /patient/everywhere.
 */
export function mountFhirOperations(
  app: Hono,
  base: NodeBase,
  deps: { readonly repository: FhirRepository; readonly auth: NodeAuth },
) {
  const { config, account, stores } = base;
  const { repository } = deps;
  const { authenticate, issuer } = deps.auth;
  // Records between members (Core 5): a clinician's pull, and the patient's view across members.
  const exchange = new ExchangeService({
    self: {
      address: account.address,
      name: config.organization,
      sign: async (hash) => hexToBytes(await account.sign({ hash: bytesToHex(hash) })),
    },
    index: stores.chainIndex,
    repository,
  });
  const exchangeOptions = {
    exchange,
    repository,
    authenticate,
    practitionerAddress: async (context: AccessContext) =>
      (await stores.auth.userByFhirUser(context.who))?.ledgerAddress,
  };
  app.route('/fhir', createExchangeFhirRoutes(exchangeOptions));
  // $validate, before the generic FHIR routes.
  app.route('/fhir', createValidateRoutes({ repository, authenticate }));
  // ValueSet/$expand (issue 13), before the generic FHIR routes.
  app.route('/fhir', createValueSetExpandRoutes({ repository, authenticate }));
  // Patient key enrolment (issue 14 item 12), before the generic FHIR routes.
  const enrolment = new LedgerKeyEnrolment({
    repository,
    challenges: stores.keyChallenges,
    node: issuer,
  });
  app.route('/fhir', createLedgerKeyEnrolmentRoutes({ enrolment, authenticate }));
  app.use('/patient/everywhere', corsPolicy({ allowedOrigins: allowedOrigins(config) }));
  app.route('/patient/everywhere', createPatientViewRoutes(exchangeOptions));
}

/** Batch and transaction Bundles, PATCH and conditional update and delete (before the generic routes). */
export function mountFhirBundleRoutes(
  app: Hono,
  deps: { readonly repository: FhirRepository; readonly authenticate: Authenticate },
) {
  const { repository, authenticate } = deps;
  // Batch and transaction Bundles; their entries run through these same routes (`app.fetch`).
  app.route(
    '/fhir',
    createFhirBundleRoutes({
      repository,
      authenticate,
      resourceTypes: SUPPORTED_RESOURCE_TYPES,
      dispatch: async (request) => app.fetch(request),
    }),
  );
  // PATCH and conditional update and delete (`PUT|DELETE|PATCH /Type?search`).
  app.route(
    '/fhir',
    createFhirConditionalRoutes({ repository, authenticate, resourceTypes: SUPPORTED_RESOURCE_TYPES }),
  );
}

export interface FhirRoutesDeps {
  readonly repository: FhirRepository;
  readonly auth: NodeAuth;
  readonly breakGlass: ReturnType<typeof createBreakGlassHooks>;
  readonly nodeCredentials: ReturnType<typeof createCredentials>;
  readonly ledger: ConsortiumLedger;
  readonly indexer: ChainIndexer;
  readonly isDelegate: (patient: `0x${string}`, signer: `0x${string}`) => Promise<boolean>;
  readonly openings: ConsentOpeningStore;
  readonly deliverOpening: ConstructorParameters<typeof FhirConsentService>[0]['deliverOpening'];
}

/** The generic FHIR REST routes (read, search, create, update, history...) and consent as FHIR. */
export function mountFhirRoutes(app: Hono, base: NodeBase, deps: FhirRoutesDeps) {
  const { config, account, deployment, stores } = base;
  const { repository, auth, nodeCredentials, ledger, indexer } = deps;
  app.route(
    '/fhir',
    createFhirRoutes({
      repository,
      ...(nodeCredentials.showResource === undefined ? {} : { showResource: nodeCredentials.showResource }),
      software: { name: 'CareLedger', version: '0.1.0' },
      authenticate: auth.authenticate,
      verifySecondFactor: deps.breakGlass.verifySecondFactor,
      breakGlassMaxMinutes: config.breakGlass?.maxMinutes ?? DEFAULT_BREAK_GLASS_MAX_MINUTES,
      onBreakGlass: deps.breakGlass.onBreakGlass,
      summary: { organization: config.organization, signer: account },
      smart: auth.authServer.smartConfiguration(),
      consent: new FhirConsentService({
        repository,
        index: stores.chainIndex,
        domain: () => createConsentDomain(deployment.chainId, deployment.contracts.consentRegistry),
        relayGrant: (grant, signature) => ledger.relayGrant(grant, signature),
        relayRevoke: (revoke, signature) => ledger.relayRevoke(revoke, signature),
        syncIndex: () => indexer.sync(),
        isDelegate: deps.isDelegate,
        openings: deps.openings,
        deliverOpening: deps.deliverOpening,
      }),
    }),
  );
}
