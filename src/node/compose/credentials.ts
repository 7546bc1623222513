import type { Hono } from 'hono';
import { createNodeCredentials } from '../../credentials/node-credentials.js';
import { startPractitionerCheck } from '../../credentials/practitioner-check.js';
import type { Outbox } from '../../ledger/index.js';
import { loadNodeConfig, saveNodeConfig } from '../node-config.js';
import type { NodeBase } from './node-base.js';

/** Issue 21: the live licence check, only when node.json asks for it (enforced while `required`). */
export async function startCredentialCheck(base: NodeBase) {
  const { config, deployment, client, stores, say } = base;
  return config.practitionerCredentials?.required === true ||
    (config.practitionerCredentials !== undefined && deployment.contracts.credentialStatus !== undefined)
    ? await startPractitionerCheck({
        config: config.practitionerCredentials,
        client,
        credentialStatus: deployment.contracts.credentialStatus,
        chainId: config.chain.chainId,
        log: say,
        // Decision 0028: any member's practitioner by ledger account, from this node's chain index.
        attestation: (address) => stores.chainIndex.practitioner(address),
        accountOf: async (id) => (await stores.auth.userByFhirUser(`Practitioner/${id}`))?.ledgerAddress,
      })
    : undefined;
}

export type CredentialCheck = Awaited<ReturnType<typeof startCredentialCheck>>;

/** Issue 21 (decision 0028): a licence before an attestation, issuer-key votes, practitioners' standing. */
export function createCredentials(base: NodeBase, practitionerCheck: CredentialCheck, outbox: Outbox) {
  const { dir, config, deployment, client, adminToken, stores } = base;
  const index = stores.chainIndex;
  return createNodeCredentials({
    client,
    credentialStatus: deployment.contracts.credentialStatus,
    chainId: config.chain.chainId,
    required: () => practitionerCheck?.isRequired() ?? false,
    ...(practitionerCheck === undefined
      ? {}
      : {
          // Switched at run time by the operator and kept in node.json for the next start (this process only).
          setRequired: (required: boolean) => {
            practitionerCheck.setRequired(required);
            const saved = loadNodeConfig(dir);
            saveNodeConfig(dir, {
              ...saved,
              practitionerCredentials: { ...saved.practitionerCredentials, required },
            });
          },
        }),
    ...(practitionerCheck === undefined ? {} : { liveIndex: practitionerCheck.index }),
    outbox,
    adminToken,
    practitioner: (address) => index.practitioner(address),
    users: stores.auth,
    memberName: async (address) => (await index.member(address))?.name,
  });
}

/** /admin/credentials: issuer-key votes and enforcement (before the general /admin routes). */
export function mountCredentialRoutes(app: Hono, nodeCredentials: ReturnType<typeof createCredentials>) {
  if (nodeCredentials.routes !== undefined) app.route('/admin/credentials', nodeCredentials.routes);
}
