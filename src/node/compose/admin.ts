import type { Hono } from 'hono';
import type { UserDirectory } from '../../auth/index.js';
import { createAdminRoutes } from '../../http/routes/admin-routes.js';
import { createPractitionerDirectoryRoutes } from '../../http/routes/practitioner-directory-routes.js';
import type { ConsortiumLedger } from '../../ledger/index.js';
import type { FhirRepository } from '../../vault/fhir-repository.js';
import type { createCredentials } from './credentials.js';
import type { NodeBase } from './node-base.js';
import { createPractitionerNameReader } from './practitioner-name.js';

/** /admin: the operator's endpoints (admin token): users, attestations, membership votes, erasure. */
export function mountAdmin(
  app: Hono,
  base: NodeBase,
  deps: {
    readonly ledger: ConsortiumLedger;
    readonly users: UserDirectory;
    readonly repository: FhirRepository;
    readonly nodeCredentials: ReturnType<typeof createCredentials>;
  },
) {
  const { config, client, adminToken, stores } = base;
  const { nodeCredentials, repository } = deps;
  // Issue 22: the administration page names the practitioners this node attests.
  app.route(
    '/admin/practitioner-directory',
    createPractitionerDirectoryRoutes({
      adminToken,
      accounts: async () =>
        (await stores.auth.listUsers()).flatMap((u) =>
          u.ledgerAddress !== undefined && u.fhirUser.startsWith('Practitioner/')
            ? [{ address: u.ledgerAddress, fhirUser: u.fhirUser, username: u.username, disabled: u.disabled }]
            : [],
        ),
      practitionerName: createPractitionerNameReader(base, repository),
    }),
  );
  app.route(
    '/admin',
    createAdminRoutes({
      ledger: deps.ledger,
      adminToken,
      client,
      users: deps.users,
      ...(nodeCredentials.attestationCredential === undefined
        ? {}
        : { attestationCredential: nodeCredentials.attestationCredential }),
      erasePatient: (id) =>
        repository.erasePatient(id, {
          who: 'Device/node-operator',
          organization: config.organization,
          purpose: 'PATRQT',
        }),
    }),
  );
}
