import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import { createNodeApp } from '../../http/create-node-app.js';
import { corsPolicy } from '../../http/middleware/cors-policy/index.js';
import { fhirRestConventions } from '../../http/middleware/fhir-rest-conventions/index.js';
import { trackConnectionArrival } from '../../http/middleware/load-shedding/index.js';
import { createOpenApiRoute } from '../../http/openapi.js';
import { consentRegistryAbi, type Outbox } from '../../ledger/index.js';
import { httpsServerOptions } from '../../network/https-server-options.js';
import { createPortalRoutes } from '../../portal/index.js';
import type { ChainIndexer } from '../../sync/index.js';
import type { LogServices } from '../log-services.js';
import { allowedOrigins } from '../node-config.js';
import type { NodeBase } from './node-base.js';
import type { StartNodeOptions } from './start-node-options.js';

export interface StatusSources {
  readonly indexer: ChainIndexer;
  readonly outbox: Outbox;
  readonly openingQueue: { status(): Promise<unknown> };
  readonly logServices: LogServices;
}

/** The node's HTTP app (load shedding, error handling) with its /health and /status. */
export function createHttpApp(base: NodeBase, sources: StatusSources): Hono {
  const { config, account, deployment, say } = base;
  const { indexer, outbox, openingQueue, logServices } = sources;
  const app = createNodeApp({
    ...(config.http === undefined ? {} : { loadShedding: config.http }),
    onError: (error) => say(`internal error: ${(error as Error).stack}`),
  });
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/status', async (c) =>
    c.json({
      name: config.name,
      organization: config.organization,
      role: config.role,
      address: account.address,
      publicUrl: config.publicUrl,
      logOrigin: config.logOrigin,
      chain: {
        rpcUrl: publicRpcUrl(config.chain.rpcUrl),
        chainId: config.chain.chainId,
        contracts: deployment.contracts,
      },
      sync: await indexer.status(),
      outbox: await outbox.counts(),
      openingDelivery: await openingQueue.status(),
      log: await logServices.status(),
    }),
  );
  return app;
}

/**
 * The chain endpoint as a public answer may show it: scheme, host and port. A production RPC URL often
 * carries a credential (user-info, an API key in the path or the query), which `/status` must not serve.
 */
export function publicRpcUrl(rpcUrl: string): string {
  try {
    const url = new URL(rpcUrl);
    return `${url.protocol}//${url.host}`;
  } catch {
    return 'unparseable';
  }
}

/** CORS for browser SMART apps, and the FHIR REST conventions, for every FHIR route mounted after. */
export function mountFhirConventions(app: Hono, base: NodeBase) {
  // Browser SMART apps call the FHIR API, the token endpoint and discovery from their own origin.
  for (const path of ['/fhir/*', '/oauth/token', '/oauth/revoke', '/oauth/userinfo', '/.well-known/*']) {
    app.use(path, corsPolicy({ allowedOrigins: allowedOrigins(base.config) }));
  }
  // _format, Accept, Content-Type, _pretty, Prefer: return and conditional reads, for every FHIR route.
  app.use('/fhir/*', fhirRestConventions());
}

/** Last: the OpenAPI document, the portal, and `/` sent to the portal. */
export function mountDocsAndPortal(app: Hono, base: NodeBase) {
  const { client, deployment } = base;
  app.route('/', createOpenApiRoute());
  app.route(
    '/portal',
    createPortalRoutes({
      consentNonce: (patient) =>
        client.readContract({
          address: deployment.contracts.consentRegistry,
          abi: consentRegistryAbi,
          functionName: 'nonces',
          args: [patient],
        }),
    }),
  );
  app.get('/', (c) => c.redirect('/portal/', 302));
}

/** Listens (HTTP or HTTPS); the primary of a multi-process member serves no HTTP: its workers do. */
export async function listen(app: Hono, base: NodeBase, options: StartNodeOptions) {
  const { config, account, say } = base;
  const tls = options.tls ?? config.tls;
  const server =
    options.primary === undefined
      ? serve({
          fetch: app.fetch,
          hostname: config.host,
          port: options.port ?? config.port,
          ...(tls === undefined ? {} : httpsServerOptions(tls)),
        })
      : undefined;
  let url = '';
  if (server !== undefined) {
    trackConnectionArrival(server);
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
    });
    const address = server.address() as AddressInfo;
    url = `${tls === undefined ? 'http' : 'https'}://${config.host}:${address.port}`;
    say(`listening on ${url} as ${account.address}`);
  }
  return { server, url };
}
