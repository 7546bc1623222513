import type { Hono } from 'hono';
import { SignInThrottle } from '../../auth/sign-in-throttle.js';
import type { Authenticate } from '../../http/authenticate-request.js';
import { createShareRoutes, ShareService, SqliteShareStore } from '../../share/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { NodeBase } from './node-base.js';
import type { StartNodeOptions } from './start-node-options.js';

/** Issue 22, decision 0030: telehealth shares with clinicians outside the consortium. */
export function mountShare(
  app: Hono,
  base: NodeBase,
  options: StartNodeOptions,
  deps: { readonly repository: FhirRepository; readonly authenticate: Authenticate },
) {
  const { db, stores, config, account } = base;
  app.route(
    '/',
    createShareRoutes({
      service: new ShareService({
        store: new SqliteShareStore(db),
        throttle: new SignInThrottle({
          store: stores.auth,
          now: options.authClock ?? Date.now,
        }),
      }),
      repository: deps.repository,
      authenticate: deps.authenticate,
      organization: config.organization,
      signer: account,
    }),
  );
}
