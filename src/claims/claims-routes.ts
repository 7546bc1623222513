import { Hono } from 'hono';
import { keccak256, toHex } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import type { Authenticate } from '../http/authenticate-request.js';
import { readJsonBody } from '../http/read-json-body.js';
import { requireOperatorToken } from '../http/require-operator-token.js';
import { hashBenefitPolicy, parseBenefitPolicy } from './benefit-policy.js';
import type { ClaimsLedger } from './claims-ledger.js';
import type { ClaimsService } from './claims-service.js';
import type { PolicyStore } from './policy-store.js';

const FHIR_JSON = { 'content-type': 'application/fhir+json; charset=utf-8' };

export interface ClaimsRouteDeps {
  readonly service: ClaimsService;
  readonly policies: PolicyStore;
  readonly ledger: Pick<ClaimsLedger, 'publishPolicy' | 'recordSettlement' | 'resolveDispute'>;
  readonly authenticate: Authenticate;
  readonly adminToken: string;
  readonly commitmentKey: (provider: `0x${string}`) => Uint8Array;
  /** Waits until a write the ledger handle returned is mined (the outbox entry's confirmation). */
  readonly confirm: (submitted: unknown) => Promise<void>;
}

/** `POST /Claim/$submit` (FHIR R4 Claim-submit operation), mounted under /fhir before the generic routes. */
export function createClaimsFhirRoutes(deps: ClaimsRouteDeps): Hono {
  const app = new Hono();
  app.post('/Claim/$submit', async (c) => {
    const context = await deps.authenticate(c);
    const { claimResponse } = await deps.service.submit(await readJsonBody(c), context);
    return c.json(claimResponse, 200, FHIR_JSON);
  });
  return app;
}

/**
 * `/claims`: the payer's published policies (public: the rules are the consortium's to see) and a
 * provider's commitment key (its member system only).
 */
export function createClaimsRoutes(deps: ClaimsRouteDeps): Hono {
  const app = new Hono();
  app.get('/policies', async (c) =>
    c.json({
      policies: (await deps.policies.list()).map((p) => ({
        version: p.policy.version,
        payerId: p.policy.payerId,
        effective: p.policy.effective,
        sha256: p.hash,
      })),
    }),
  );
  app.get('/policies/:version', async (c) => {
    const published = await deps.policies.get(c.req.param('version'));
    if (published === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'no such policy version');
    return c.json(published.json as Record<string, unknown>);
  });
  app.get('/commitment-key', async (c) => {
    const context = await deps.authenticate(c);
    const provider = await deps.service.verifySubmitter(context);
    return c.json({ provider, key: Buffer.from(deps.commitmentKey(provider)).toString('hex') });
  });
  return app;
}

/**
 * `/admin/claims`: the payer operator's ledger writes (node operator token): publish a policy
 * version, record a settlement, resolve a dispute.
 */
export function createClaimsAdminRoutes(deps: ClaimsRouteDeps): Hono {
  const app = new Hono();
  app.use('*', requireOperatorToken(deps.adminToken));
  app.post('/policies', async (c) => {
    const json = await readJsonBody(c);
    // Refused before anything is anchored if it does not parse (ERR_INVALID_INPUT with the reason).
    const policy = parseBenefitPolicy(json);
    if ((await deps.policies.get(policy.version)) !== undefined)
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'this policy version is already published', {
        details: { reason: 'version-exists' },
      });
    const hash = hashBenefitPolicy(policy);
    // Mined before it is used: a decision can name only a version the ledger already holds.
    await deps.confirm(
      await deps.ledger.publishPolicy(policy.version, hash, policy.effective.start, policy.effective.end),
    );
    await deps.policies.save(json);
    return c.json({ version: policy.version, sha256: hash }, 201);
  });
  app.post('/settlements', async (c) => {
    const body = await readJsonBody(c);
    if (typeof body.claimCommitment !== 'string' || !Number.isSafeInteger(body.amountCents))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'give claimCommitment and amountCents');
    await deps.ledger.recordSettlement(body.claimCommitment, body.amountCents as number);
    return c.json({ recorded: true }, 202);
  });
  app.post('/dispute-resolutions', async (c) => {
    const body = await readJsonBody(c);
    if (
      typeof body.claimCommitment !== 'string' ||
      typeof body.resolution !== 'string' ||
      !Number.isSafeInteger(body.amountDueCents)
    )
      throw new CareLedgerError('ERR_INVALID_INPUT', 'give claimCommitment, resolution and amountDueCents');
    // The resolution's text stays off chain; its hash is the record.
    await deps.ledger.resolveDispute(
      body.claimCommitment,
      keccak256(toHex(body.resolution)),
      body.amountDueCents as number,
    );
    return c.json({ recorded: true }, 202);
  });
  return app;
}
