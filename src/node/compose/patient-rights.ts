import type { Hono } from 'hono';
import type { Authenticate } from '../../http/authenticate-request.js';
import { createAccessRequestRoutes } from '../../http/routes/access-request-routes.js';
import { createPatientRightsRoutes, createRecipientNames } from '../../patient-rights/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { NodeBase } from './node-base.js';
import { createPractitionerNameReader } from './practitioner-name.js';

/** Issue 22: HIPAA individual rights and the patient's requests (decision 0029), and access requests. */
export function mountPatientRights(
  app: Hono,
  base: NodeBase,
  deps: { readonly repository: FhirRepository; readonly authenticate: Authenticate },
) {
  const { config, stores, account } = base;
  const { repository, authenticate } = deps;
  const index = stores.chainIndex;
  const practitionerName = createPractitionerNameReader(base, repository);
  app.route(
    '/patient-rights',
    createPatientRightsRoutes({
      repository,
      authenticate,
      organization: config.organization,
      nameOf: createRecipientNames({
        memberName: async (address) => (await index.member(address))?.name,
        practitionerOrganization: async (address) => (await index.practitioner(address))?.organization,
        organization: config.organization,
      }),
      // The node reads its own directory entry (a Practitioner is no patient's record), as itself:
      // the read is judged and audited like any other.
      practitionerName,
    }),
  );
  app.route(
    '/access-requests',
    createAccessRequestRoutes({
      repository,
      authenticate,
      organization: config.organization,
      organizationAddress: account.address,
      notify: (n) => stores.auth.insertNotification(n),
      practitionerName,
    }),
  );
}
