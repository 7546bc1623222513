/**
 * Security model, "Consent decisions": a node's own decision (from its ledger index) lets a grant to
 * an organization cover the practitioners that organization currently attests, and nobody else: not
 * a practitioner whose attestation was revoked, not an unattested address. One node over real anvil.
 */
import { type Address, keccak256, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutboxEntry } from '../../src/ledger/index.js';
import type { RunningNode } from '../../src/node/start-node.js';
import { signGrantForNewPatient } from '../support/consent-signer.js';
import { type SoloNode, startSoloNode } from '../support/start-solo-node.js';

let solo: SoloNode;
let node: RunningNode;
const attested = privateKeyToAccount(generatePrivateKey()).address;
const revoked = privateKeyToAccount(generatePrivateKey()).address;
const stranger = privateKeyToAccount(generatePrivateKey()).address;

async function mined(entry: Promise<OutboxEntry>): Promise<void> {
  const done = await node.ledger.outbox.waitForConfirmation((await entry).id, 30_000);
  expect(done.receiptStatus).toBe('success');
}

async function check(patient: Address, grantee: Address): Promise<Record<string, unknown>> {
  const response = await node.app.request(
    `/ledger/consent/check?patient=${patient}&grantee=${grantee}&category=laboratory&purpose=TREAT`,
  );
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  solo = await startSoloNode();
  ({ node } = solo);
  const expiresAt = BigInt(Math.floor(Date.now() / 1000) + 365 * 86_400);
  await mined(node.ledger.attestPractitioner(attested, keccak256(toHex('licence 1')), 'MD', expiresAt));
  await mined(node.ledger.attestPractitioner(revoked, keccak256(toHex('licence 2')), 'MD', expiresAt));
  await mined(node.ledger.revokePractitioner(revoked));
}, 120_000);

afterAll(async () => {
  await solo?.stop();
});

describe('a grant to an organization', () => {
  it('covers the practitioners it attests, not a revoked attestation nor an unattested address', async () => {
    const organization = node.ledger.address;
    const grant = await signGrantForNewPatient({
      chainId: 31337,
      consentRegistry: node.deployment.contracts.consentRegistry,
      grantee: organization,
      nowSeconds: Math.floor(Date.now() / 1000),
    });
    const created = await node.app.request('/ledger/consent/grants?wait=true', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: grant.body,
    });
    expect(created.status).toBe(201);
    await node.indexer.sync();

    expect(await check(grant.patient, organization)).toMatchObject({ allowed: true, via: 'grantee' });
    expect(await check(grant.patient, attested)).toMatchObject({
      allowed: true,
      grantId: grant.grantId,
      via: 'organization',
    });
    expect(await check(grant.patient, revoked)).toMatchObject({ allowed: false, reason: 'no-grant' });
    expect(await check(grant.patient, stranger)).toMatchObject({ allowed: false, reason: 'no-grant' });
  });
});
