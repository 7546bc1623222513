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
import { type CredentialChainIndex, voteIssuerKeyData } from './credential-ledger.js';
import { evaluatePractitionerStanding, type StandingSources } from './practitioner-standing.js';

export interface CredentialAdminDeps {
  readonly adminToken: string;
  readonly client: PublicClient;
  readonly credentialStatus: Address;
  /** Submits this member's transaction and resolves when it is mined (the node's outbox). */
  readonly send: (label: string, to: Address, data: Hex) => Promise<{ txHash: Hex; success: boolean }>;
  readonly index: () => Promise<CredentialChainIndex>;
  readonly attestation: StandingSources['attestation'];
  /** This node's practitioners: display name, FHIR reference, ledger account. */
  readonly practitioners: () => Promise<readonly { name: string; fhirUser: string; account?: Address }[]>;
  readonly now?: () => Date;
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
