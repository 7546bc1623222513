/**
 * The credential parts a member node mounts (decision 0028), wired in one place so the composition
 * root adds two lines: the licence check before an attestation, and the /admin/credentials routes.
 * The chain index is the live check's when the node requires licences, otherwise one made on first
 * use (so a node that does not check access still verifies what it attests).
 */
import type { Resource } from '@medplum/fhirtypes';
import type { Address, Hex, PublicClient } from 'viem';
import type { AuthStore } from '../auth/auth-store.js';
import { credentialStatusAbi, type Outbox } from '../ledger/index.js';
import type { IndexedPractitioner } from '../sync/index-storage.js';
import {
  type AttestationCredentialCheck,
  createAttestationCredentialCheck,
} from './attestation-credential.js';
import { createCredentialAdminRoutes } from './credential-admin-routes.js';
import { CredentialChainIndex } from './credential-ledger.js';
import { createPractitionerQualificationView } from './practitioner-qualification.js';

export function createNodeCredentials(options: {
  readonly client: PublicClient;
  readonly credentialStatus: Address | undefined;
  readonly chainId: number;
  /** Whether the node enforces licences now (practitionerCredentials.required). */
  readonly required: () => boolean;
  /** Switches enforcement (PUT /admin/credentials/enforcement); absent when the node has no check. */
  readonly setRequired?: (required: boolean) => void;
  readonly liveIndex?: CredentialChainIndex;
  readonly outbox: Outbox;
  readonly adminToken: string;
  readonly practitioner: (account: Address) => Promise<IndexedPractitioner | undefined>;
  readonly users: Pick<AuthStore, 'listUsers' | 'userByFhirUser'>;
  /** A member's display name, from the chain index (the board as a qualification's issuer). */
  readonly memberName: (account: Address) => Promise<string | undefined>;
}): {
  attestationCredential?: AttestationCredentialCheck;
  routes?: ReturnType<typeof createCredentialAdminRoutes>;
  showResource?: (resource: Resource) => Promise<Resource>;
} {
  const { credentialStatus } = options;
  if (credentialStatus === undefined) return {};
  let made: Promise<CredentialChainIndex> | undefined;
  const index = async (): Promise<CredentialChainIndex> => {
    if (options.liveIndex !== undefined) return options.liveIndex;
    made ??= options.client
      .readContract({ address: credentialStatus, abi: credentialStatusAbi, functionName: 'registry' })
      .then((registry) => new CredentialChainIndex(options.client, credentialStatus, registry));
    made.catch(() => {
      made = undefined;
    });
    const built = await made;
    await built.sync();
    return built;
  };
  const send = async (label: string, to: Address, data: Hex) => {
    const entry = await options.outbox.submit({ label, to, data });
    const done = await options.outbox.waitForConfirmation(entry.id, 30_000);
    return { txHash: done.txHash, success: done.receiptStatus === 'success' };
  };
  return {
    showResource: createPractitionerQualificationView({
      index,
      attestation: options.practitioner,
      accountOf: async (id) => (await options.users.userByFhirUser(`Practitioner/${id}`))?.ledgerAddress,
      boardName: options.memberName,
    }),
    attestationCredential: createAttestationCredentialCheck({
      index,
      chainId: options.chainId,
      required: options.required,
    }),
    routes: createCredentialAdminRoutes({
      enforcement: {
        required: options.required,
        ...(options.setRequired === undefined ? {} : { set: options.setRequired }),
      },
      adminToken: options.adminToken,
      client: options.client,
      credentialStatus,
      send,
      index,
      attestation: options.practitioner,
      practitioners: async () =>
        (await options.users.listUsers())
          .filter((u) => u.fhirUser.startsWith('Practitioner/') && !u.disabled)
          .map((u) => ({
            name: u.username,
            fhirUser: u.fhirUser,
            roles: u.roles,
            ...(u.ledgerAddress === undefined ? {} : { account: u.ledgerAddress }),
          })),
    }),
  };
}
