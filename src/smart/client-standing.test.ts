import { describe, expect, test } from 'vitest';
import { evaluateClientStanding, verifyClientStanding } from './client-standing.js';

const REGISTERED = '2026-12-07T08:00:00.500Z';
const registeredAt = Math.floor(Date.parse(REGISTERED) / 1000);

describe('client standing of an access token', () => {
  test('an approved client, or one from before approval existed, stands', () => {
    const token = { client_id: 'app-1', iat: registeredAt + 10 };
    expect(evaluateClientStanding(token, { createdAt: REGISTERED, status: 'approved' })).toEqual({
      stands: true,
    });
    expect(evaluateClientStanding(token, { createdAt: REGISTERED })).toEqual({ stands: true });
    // Issued in the second of registration.
    expect(evaluateClientStanding({ ...token, iat: registeredAt }, { createdAt: REGISTERED })).toEqual({
      stands: true,
    });
  });

  test('a removed client, one put back to pending, or one registered again after issue does not', () => {
    const token = { client_id: 'app-1', iat: registeredAt + 10 };
    expect(evaluateClientStanding(token, undefined)).toEqual({ stands: false, reason: 'client-removed' });
    expect(evaluateClientStanding(token, { createdAt: REGISTERED, status: 'pending' })).toEqual({
      stands: false,
      reason: 'client-not-approved',
    });
    expect(
      evaluateClientStanding(
        { ...token, iat: registeredAt - 1 },
        { createdAt: REGISTERED, status: 'approved' },
      ),
    ).toEqual({ stands: false, reason: 'client-removed' });
    expect(evaluateClientStanding({ client_id: 'app-1' }, { createdAt: REGISTERED })).toEqual({
      stands: false,
      reason: 'client-removed',
    });
  });

  test('a consortium member authenticated by its ledger key has no registration to lose', () => {
    const member = '0x00000000000000000000000000000000000000bB';
    expect(evaluateClientStanding({ client_id: member, member, iat: 1 }, undefined)).toEqual({
      stands: true,
    });
    // Not a member token: an unknown address-like client id is a removed client.
    expect(evaluateClientStanding({ client_id: member, iat: 1 }, undefined)).toEqual({
      stands: false,
      reason: 'client-removed',
    });
  });

  test("a patient's ledger-key sign-in has no registration to lose, and is not looked up", async () => {
    const looked: string[] = [];
    await verifyClientStanding(
      { client_id: 'patient:0x00000000000000000000000000000000000000Aa', iat: 1 },
      async (id) => {
        looked.push(id);
        return undefined;
      },
    );
    expect(looked).toEqual([]);
  });

  test('refuses with 401 invalid_token and the reason, naming no token', async () => {
    const token = { client_id: 'app-1', iat: registeredAt + 10 };
    await expect(verifyClientStanding(token, async () => undefined)).rejects.toMatchObject({
      code: 'ERR_UNAUTHENTICATED',
      message: 'the access token was issued to an OAuth client that has been removed',
      details: { oauth: 'invalid_token', reason: 'client-removed' },
    });
    await expect(
      verifyClientStanding(token, async () => ({ createdAt: REGISTERED, status: 'pending' })),
    ).rejects.toMatchObject({ details: { reason: 'client-not-approved' } });
    await expect(
      verifyClientStanding(token, async () => ({ createdAt: REGISTERED })),
    ).resolves.toBeUndefined();
  });
});
