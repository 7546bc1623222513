/**
 * The operator's credential endpoints under /admin/credentials (decision 0028): this member's vote for
 * a licensing board's proposed issuer key, the key a board proposes and its votes, and this node's
 * practitioners with the standing of their licence now (for the admin portal's list).
 */
import { Hono } from 'hono';
import { type Address, getAddress, type Hex, isAddress, isHex, type PublicClient } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { readJsonBody } from '../http/read-json-body.js';
import { requireOperatorToken } from '../http/require-operator-token.js';
import { credentialStatusAbi } from '../ledger/index.js';
import {
  type CredentialChainIndex,
  credentialHashOf,
  issuerKeyOnChain,
  recordCredentialData,
  registerIssuerKeyData,
  setStatusData,
  voteIssuerKeyData,
} from './credential-ledger.js';
import { evaluatePractitionerStanding, type StandingSources } from './practitioner-standing.js';
import { decodeCredentialJwt } from './vc-jwt.js';

export interface CredentialAdminDeps {
  readonly adminToken: string;
  readonly client: PublicClient;
  readonly credentialStatus: Address;
  /** Submits this member's transaction and resolves when it is mined (the node's outbox). */
  readonly send: (label: string, to: Address, data: Hex) => Promise<{ txHash: Hex; success: boolean }>;
  readonly index: () => Promise<CredentialChainIndex>;
  readonly attestation: StandingSources['attestation'];
  /** This node's practitioners: display name, FHIR reference, ledger account. */
  readonly practitioners: () => Promise<
    readonly { name: string; fhirUser: string; roles: readonly string[]; account?: Address }[]
  >;
  readonly now?: () => Date;
  readonly enforcement?: { readonly required: () => boolean; readonly set?: (required: boolean) => void };
}

function address(value: unknown, name: string): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `${name} must be a ledger address`, {
      details: { field: name },
    });
  }
  return getAddress(value);
}

export function createCredentialAdminRoutes(deps: CredentialAdminDeps): Hono {
  const app = new Hono();
  app.use('*', requireOperatorToken(deps.adminToken));

  app.get('/issuer-keys/:board', async (c) => {
    const board = address(c.req.param('board'), 'board');
    const proposal = await deps.client.readContract({
      address: deps.credentialStatus,
      abi: credentialStatusAbi,
      functionName: 'keyProposalOf',
      args: [board],
    });
    const admitted = await deps.client.readContract({
      address: deps.credentialStatus,
      abi: credentialStatusAbi,
      functionName: 'isAdmittedIssuer',
      args: [board],
    });
    return c.json({
      board,
      admitted,
      pending:
        proposal.publicKey === '0x'
          ? null
          : { issuerId: proposal.issuerId, keyThumbprint: proposal.keyThumbprint, votes: proposal.votes },
    });
  });

  const mined = async (label: string, data: Hex) => {
    const sent = await deps.send(label, deps.credentialStatus, data);
    if (!sent.success) throw new CareLedgerError('ERR_CHAIN_REVERTED', `${label} was mined but reverted`);
    return sent.txHash;
  };

  /** A board node proposes its issuer key: `{issuerId, publicJwk}` (members then vote). */
  app.post('/issuer-keys', async (c) => {
    const body = (await readJsonBody(c)) as Record<string, unknown>;
    if (typeof body.issuerId !== 'string' || typeof body.publicJwk !== 'object' || body.publicJwk === null) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'give issuerId and publicJwk');
    }
    const { kty, crv, x, y } = body.publicJwk as Record<string, string>;
    const key = await issuerKeyOnChain({ kty, crv, x, y });
    const txHash = await mined('registerIssuerKey', registerIssuerKeyData(body.issuerId, key));
    return c.json({ txHash, kid: key.kid, keyThumbprint: key.keyThumbprint }, 201);
  });

  /** A board node records a credential it issued: `{credential: vc+jwt}`. */
  app.post('/records', async (c) => {
    const body = (await readJsonBody(c)) as Record<string, unknown>;
    if (typeof body.credential !== 'string')
      throw new CareLedgerError('ERR_INVALID_INPUT', 'give credential');
    const { credential } = decodeCredentialJwt(body.credential.trim());
    const subject = credential.credentialSubject;
    const data = recordCredentialData(credentialHashOf(body.credential), {
      subject: address(subject.id.split(':').at(-1), 'credentialSubject.id'),
      index: Number(credential.credentialStatus[0]?.statusListIndex),
      validFrom: Math.floor(Date.parse(credential.validFrom) / 1000),
      validUntil:
        credential.validUntil === undefined ? 2 ** 40 : Math.floor(Date.parse(credential.validUntil) / 1000),
      qualification: subject.qualification,
      licenseNumber: subject.licenseNumber,
      jurisdiction: subject.jurisdiction,
    });
    const txHash = await mined('recordCredential', data);
    return c.json({ txHash, credentialHash: credentialHashOf(body.credential) }, 201);
  });

  /** A board node suspends, reinstates or revokes: `{index, change}`. */
  app.post('/status', async (c) => {
    const body = (await readJsonBody(c)) as Record<string, unknown>;
    const change = body.change;
    if (change !== 'suspend' && change !== 'reinstate' && change !== 'revoke') {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'change is suspend, reinstate or revoke');
    }
    const index = Number(body.index);
    const data =
      change === 'revoke'
        ? setStatusData(index, 'revocation', true)
        : setStatusData(index, 'suspension', change === 'suspend');
    return c.json({ txHash: await mined(`credential ${change}`, data) }, 201);
  });

  /** This member's vote for the key a board proposed: `{board, keyThumbprint}`. */
  app.post('/issuer-keys/votes', async (c) => {
    const body = (await readJsonBody(c)) as Record<string, unknown>;
    const board = address(body.board, 'board');
    const thumbprint = body.keyThumbprint;
    if (typeof thumbprint !== 'string' || !isHex(thumbprint) || thumbprint.length !== 66) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'keyThumbprint must be 32 bytes of hex');
    }
    const sent = await deps.send(
      'voteIssuerKey',
      deps.credentialStatus,
      voteIssuerKeyData(board, thumbprint),
    );
    if (!sent.success) throw new CareLedgerError('ERR_CHAIN_REVERTED', 'the vote was mined but reverted');
    const admitted = await deps.client.readContract({
      address: deps.credentialStatus,
      abi: credentialStatusAbi,
      functionName: 'isAdmittedIssuer',
      args: [board],
    });
    return c.json({ txHash: sent.txHash, admitted }, 201);
  });

  /** Whether this node refuses unlicensed practitioners now; PUT `{required}` switches it (this process). */
  app.get('/enforcement', (c) => c.json({ required: deps.enforcement?.required() ?? false }));
  app.put('/enforcement', async (c) => {
    const body = (await readJsonBody(c)) as Record<string, unknown>;
    if (typeof body.required !== 'boolean') {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'required must be true or false');
    }
    if (deps.enforcement?.set === undefined) {
      throw new CareLedgerError(
        'ERR_PRECONDITION_FAILED',
        'this node has no licence check: add practitionerCredentials to node.json and restart',
      );
    }
    deps.enforcement.set(body.required);
    return c.json({ required: deps.enforcement.required() });
  });

  /** This node's practitioners by name, with their licence's standing on the chain now. */
  app.get('/practitioners', async (c) => {
    const index = await deps.index();
    const now = deps.now?.() ?? new Date();
    const rows = [];
    for (const p of await deps.practitioners()) {
      const standing =
        p.account === undefined
          ? { valid: false as const, reason: 'no ledger account' }
          : await evaluatePractitionerStanding(
              p.account,
              { index, attestation: deps.attestation },
              now,
            ).catch(() => ({ valid: false as const, reason: 'status-unavailable' }));
      const record = 'record' in standing ? standing.record : undefined;
      rows.push({
        name: p.name,
        practitioner: p.fhirUser,
        roles: p.roles,
        account: p.account ?? null,
        status: standing.valid ? 'valid' : standing.reason,
        qualification: record?.qualification.code ?? null,
        licenseNumber: record?.licenseNumber ?? null,
        jurisdiction: record?.jurisdiction ?? null,
        validUntil: record === undefined ? null : new Date(record.validUntil * 1000).toISOString(),
      });
    }
    rows.sort((a, b) => a.name.localeCompare(b.name));
    return c.json({ practitioners: rows });
  });

  return app;
}
