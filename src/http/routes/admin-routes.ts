import { Hono } from 'hono';
import { getAddress, type Hex, isAddress, isHex, type PublicClient, parseEventLogs, zeroAddress } from 'viem';
import type { UserDirectory } from '../../auth/index.js';
import { parseGuardianAttestation } from '../../consent/index.js';
import { CareLedgerError } from '../../errors/index.js';
import {
  type ConsortiumLedger,
  consentRegistryAbi,
  consortiumRegistryAbi,
  createConsentDomain,
  type GenesisMember,
  isMemberRole,
  type OutboxEntry,
} from '../../ledger/index.js';
import { readJsonBody } from '../read-json-body.js';
import { requireOperatorToken } from '../require-operator-token.js';

export interface AdminRouteDeps {
  readonly ledger: ConsortiumLedger;
  /** The node operator's bearer token (a random secret in the node's folder, mode 0600). */
  readonly adminToken: string;
  readonly client: PublicClient;
  /** Enrolment of users and OAuth clients. */
  readonly users?: UserDirectory;
  /** Crypto-shreds a patient's records (FhirRepository.erasePatient, as the operator). */
  readonly erasePatient?: (
    patientId: string,
  ) => Promise<{ erasedAt: string; keyVersions: number; alreadyErased: boolean }>;
  /** Issue 21: verifies the practitioner's licence (body.credential) before an attestation. */
  readonly attestationCredential?: import('../../credentials/attestation-credential.js').AttestationCredentialCheck;
}

function field(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${name} is required`, { details: { field: name } });
  }
  return value;
}

function parseCandidate(body: unknown): GenesisMember {
  if (typeof body !== 'object' || body === null)
    throw new CareLedgerError('ERR_INVALID_INPUT', 'body must be an object');
  const b = body as Record<string, unknown>;
  const account = field(b, 'account');
  if (!isAddress(account, { strict: false }))
    throw new CareLedgerError('ERR_INVALID_INPUT', 'account is not an address');
  const role = field(b, 'role');
  if (!isMemberRole(role))
    throw new CareLedgerError('ERR_INVALID_INPUT', 'unknown role', { details: { role } });
  const encryptionPublicKey = (b.encryptionPublicKey ?? '0x') as string;
  if (!isHex(encryptionPublicKey))
    throw new CareLedgerError('ERR_INVALID_INPUT', 'encryptionPublicKey must be hex');
  return {
    account: getAddress(account),
    name: field(b, 'name'),
    role,
    fhirBaseUrl: field(b, 'fhirBaseUrl'),
    logOrigin: field(b, 'logOrigin'),
    logVerifierKey: field(b, 'logVerifierKey'),
    encryptionPublicKey,
  };
}

const entryJson = (entry: OutboxEntry) => ({
  outboxId: entry.id,
  txHash: entry.txHash,
  status: entry.status,
});

/** Operator endpoints: governance votes and practitioner attestations, signed with the member's key. */
export function createAdminRoutes(deps: AdminRouteDeps): Hono {
  const app = new Hono();
  app.use('*', requireOperatorToken(deps.adminToken));

  const confirm = async (entry: OutboxEntry) => {
    const done = await deps.ledger.outbox.waitForConfirmation(entry.id, 30_000);
    if (done.receiptStatus !== 'success') {
      throw new CareLedgerError('ERR_CHAIN_REVERTED', 'the transaction was mined but reverted');
    }
    return done;
  };

  app.post('/members/proposals', async (c) => {
    const entry = await confirm(await deps.ledger.proposeAdmission(parseCandidate(await readJsonBody(c))));
    const receipt = await deps.client.getTransactionReceipt({ hash: entry.txHash });
    const events = parseEventLogs({ abi: consortiumRegistryAbi, logs: receipt.logs });
    const created = events.find((event) => event.eventName === 'ProposalCreated');
    const executed = events.some((event) => event.eventName === 'MemberAdmitted');
    return c.json(
      {
        ...entryJson(entry),
        proposalId: created?.eventName === 'ProposalCreated' ? created.args.proposalId.toString() : null,
        executed,
      },
      201,
    );
  });

  /** Proposes removing a member (issue 17: `careledger member propose --remove`); executes at once if k = 1. */
  app.post('/members/removals', async (c) => {
    const account = field((await readJsonBody(c)) as Record<string, unknown>, 'account');
    if (!isAddress(account, { strict: false }))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'account is not an address');
    const entry = await confirm(await deps.ledger.proposeRemoval(getAddress(account)));
    const receipt = await deps.client.getTransactionReceipt({ hash: entry.txHash });
    const events = parseEventLogs({ abi: consortiumRegistryAbi, logs: receipt.logs });
    const created = events.find((event) => event.eventName === 'ProposalCreated');
    return c.json(
      {
        ...entryJson(entry),
        proposalId: created?.eventName === 'ProposalCreated' ? created.args.proposalId.toString() : null,
        executed: events.some((event) => event.eventName === 'MemberRemoved'),
      },
      201,
    );
  });

  app.post('/members/proposals/:id/votes', async (c) => {
    const id = c.req.param('id');
    if (!/^[0-9]{1,20}$/.test(id))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'proposal id must be a number');
    const entry = await confirm(await deps.ledger.vote(BigInt(id)));
    return c.json(entryJson(entry), 201);
  });

  app.post('/practitioners', async (c) => {
    const body = (await readJsonBody(c)) as Record<string, unknown>;
    const practitioner = field(body, 'practitioner');
    if (!isAddress(practitioner, { strict: false })) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'practitioner is not an address');
    }
    // Decision 0028: with a licence credential, the terms come from it (verified on the chain).
    const terms = await deps.attestationCredential?.(getAddress(practitioner), {
      credential: body.credential,
      ...(body.expiresAt === undefined ? {} : { expiresAt: Number(body.expiresAt) }),
    });
    if (terms !== undefined) {
      const attested = await confirm(
        await deps.ledger.attestPractitioner(
          getAddress(practitioner),
          terms.credentialHash,
          terms.qualificationCode,
          terms.expiresAt,
        ),
      );
      return c.json({ ...entryJson(attested), credentialHash: terms.credentialHash }, 201);
    }
    const credentialHash = field(body, 'credentialHash');
    if (!isHex(credentialHash) || credentialHash.length !== 66) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'credentialHash must be a 32-byte keyed hash');
    }
    const expiresAt = Number(body.expiresAt);
    if (!Number.isSafeInteger(expiresAt) || expiresAt <= 0) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'expiresAt must be unix seconds');
    }
    const entry = await confirm(
      await deps.ledger.attestPractitioner(
        getAddress(practitioner),
        credentialHash as Hex,
        field(body, 'qualificationCode'),
        BigInt(expiresAt),
      ),
    );
    return c.json(entryJson(entry), 201);
  });

  /**
   * This member attests the guardian of a minor patient: the guardian may then sign consent for them
   * with `guardian`, a delegate key for this ward only, whose `guardianSignature` accepts it (decision 0021).
   */
  app.post('/guardians', async (c) => {
    const { deployment } = deps.ledger;
    const a = await parseGuardianAttestation(
      await readJsonBody(c),
      createConsentDomain(deployment.chainId, deployment.contracts.consentRegistry),
      () => Date.now(),
    );
    const entry = await confirm(
      await deps.ledger.attestGuardian(a.patient, a.guardian, a.notBefore, a.notAfter, a.guardianSignature),
    );
    const receipt = await deps.client.getTransactionReceipt({ hash: entry.txHash });
    const [registered] = parseEventLogs({
      abi: consentRegistryAbi,
      logs: receipt.logs,
      eventName: 'DelegationRegistered',
    });
    return c.json({ ...entryJson(entry), delegationId: registered?.args.delegationId ?? null }, 201);
  });

  /** Ends a guardianship this member attested (ConsentRegistry emits DelegationRevoked; decision 0021). */
  app.delete('/guardians/:delegationId', async (c) => {
    const id = c.req.param('delegationId');
    if (!/^0x[0-9a-fA-F]{64}$/.test(id)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'the delegation id must be 32 bytes as hex', {
        details: { field: 'delegationId' },
      });
    }
    const none = { patient: zeroAddress, grantId: id as Hex, nonce: 0n };
    const entry = await confirm(await deps.ledger.revokeDelegation(id as Hex, none, '0x'));
    return c.json({ ...entryJson(entry), delegationId: id }, 200);
  });

  /** Enrols a user: the answer carries the TOTP secret once, for their authenticator app. */
  app.post('/users', async (c) => {
    if (deps.users === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'this node has no user directory');
    const body = (await readJsonBody(c)) as Record<string, unknown>;
    const { user, totpSecret, otpauthUri } = await deps.users.createUser({
      username: body.username as string,
      password: typeof body.password === 'string' ? body.password : '',
      fhirUser: body.fhirUser as string,
      ...(Array.isArray(body.roles) ? { roles: body.roles.map(String) } : {}),
      ...(typeof body.ledgerAddress === 'string' ? { ledgerAddress: body.ledgerAddress } : {}),
      ...(body.keystore === undefined ? {} : { keystore: body.keystore }),
    });
    return c.json(
      {
        id: user.id,
        username: user.username,
        fhirUser: user.fhirUser,
        roles: user.roles,
        totpSecret,
        otpauthUri,
      },
      201,
    );
  });

  /** Registers an OAuth client: a SMART app, or a backend service (another member's system, private_key_jwt). */
  app.post('/clients', async (c) => {
    if (deps.users === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'this node has no user directory');
    const body = (await readJsonBody(c)) as Record<string, unknown>;
    const client = await deps.users.createClient({
      name: String(body.name ?? ''),
      ...(Array.isArray(body.redirectUris) ? { redirectUris: body.redirectUris.map(String) } : {}),
      ...(body.jwks === undefined ? {} : { jwks: body.jwks }),
      ...(typeof body.memberAddress === 'string' ? { memberAddress: body.memberAddress } : {}),
      ...(typeof body.allowedScopes === 'string' ? { allowedScopes: body.allowedScopes } : {}),
      ...(typeof body.clientId === 'string' ? { clientId: body.clientId } : {}),
    });
    return c.json(client, 201);
  });

  /** The registered OAuth clients; `?status=pending`: self-registered apps waiting for approval. */
  app.get('/clients', async (c) => {
    if (deps.users === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'this node has no user directory');
    const status = c.req.query('status');
    if (status !== undefined && status !== 'pending' && status !== 'approved')
      throw new CareLedgerError('ERR_INVALID_INPUT', 'status must be pending or approved');
    return c.json({ clients: await deps.users.listClients(status === undefined ? {} : { status }) });
  });

  /** Approves a self-registered app (RFC 7591 registration held for review). */
  app.post('/clients/:id/approve', async (c) => {
    if (deps.users === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'this node has no user directory');
    return c.json(await deps.users.approveClient(c.req.param('id')));
  });

  /** Removes a client: refuses a pending registration, or withdraws an approved one. */
  app.delete('/clients/:id', async (c) => {
    if (deps.users === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'this node has no user directory');
    await deps.users.rejectClient(c.req.param('id'));
    return c.body(null, 204);
  });

  /** Lifts a sign-in lockout of a username (and of its one-time codes). */
  app.post('/users/:username/unlock', async (c) => {
    if (deps.users === undefined)
      throw new CareLedgerError('ERR_NOT_FOUND', 'this node has no user directory');
    return c.json(await deps.users.unlockSignIn(c.req.param('username')));
  });

  /** Crypto-shredding: the patient's data keys are destroyed; reads answer 410 Gone from then on. */
  app.post('/patients/:id/erase', async (c) => {
    const id = c.req.param('id');
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'not a valid FHIR id');
    if (deps.erasePatient === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'this node has no vault');
    return c.json({ patient: `Patient/${id}`, ...(await deps.erasePatient(id)) });
  });

  return app;
}
