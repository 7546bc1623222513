import type { Hono } from 'hono';
import type { ConsentDecisionCache } from '../../access/consent-decision-cache.js';
import { createClaimsModule } from '../../claims/index.js';
import type { Authenticate } from '../../http/authenticate-request.js';
import type { Outbox } from '../../ledger/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { NodeBase } from './node-base.js';

/** Claims at a payer member (issue 20, decision 0019): Claim/$submit before the generic FHIR routes. */
export function mountClaims(
  app: Hono,
  base: NodeBase,
  deps: {
    readonly outbox: Outbox;
    readonly repository: FhirRepository;
    readonly consentDecisions: ConsentDecisionCache;
    readonly authenticate: Authenticate;
  },
) {
  const { dir, config, deployment, client, stores, adminToken } = base;
  const index = stores.chainIndex;
  const claims =
    config.role === 'payer'
      ? createClaimsModule({
          dir,
          deployment,
          outbox: deps.outbox,
          client,
          repository: deps.repository,
          consent: deps.consentDecisions.check,
          memberRole: async (address) => {
            const member = await index.member(address);
            return member?.status === 'active' ? member.role : undefined;
          },
          organization: config.organization,
          authenticate: deps.authenticate,
          adminToken,
          claimLeases: stores.claimLeases,
          benefitPolicies: stores.benefitPolicies,
        })
      : undefined;
  if (claims !== undefined) {
    app.route('/fhir', claims.fhirRoutes);
    app.route('/claims', claims.routes);
    app.route('/admin/claims', claims.adminRoutes);
  }
  return claims;
}
