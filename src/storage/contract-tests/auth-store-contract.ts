import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { AuthStore, Notification, OAuthClient, UserAccount } from '../../auth/auth-store.js';
import { HARD_LOCKED, THROTTLE_POLICIES, type ThrottlePolicy } from '../../auth/sign-in-throttle.js';
import type { StorageAdapter, StorageUnderTest } from './storage-adapter.js';

const T0 = 1_700_000_000_000;

function user(n: number, extra: Partial<UserAccount> = {}): UserAccount {
  return {
    id: `u-${n}`,
    username: `user.${n}`,
    passwordHash: '$scrypt$x',
    fhirUser: `Practitioner/p-${n}`,
    roles: ['clinician'],
    createdAt: '2026-12-07T07:00:00.000Z',
    disabled: false,
    ...extra,
  };
}

const client = (id: string): OAuthClient => ({
  clientId: id,
  name: `app ${id}`,
  redirectUris: ['https://app.example/cb'],
  allowedScopes: 'patient/*.rs',
  createdAt: '2026-12-07T07:00:00.000Z',
  status: 'pending',
});

const notification = (id: string, recipient: string, createdAt: string): Notification => ({
  id,
  recipient,
  kind: 'break-glass',
  message: 'ids only',
  subject: `break-glass/${id}`,
  createdAt,
});

/** Runs `n` calls at once over two connections, as two node processes would. */
async function race<T>(
  stores: readonly AuthStore[],
  n: number,
  call: (s: AuthStore, i: number) => Promise<T>,
) {
  return Promise.all(Array.from({ length: n }, (_, i) => call(stores[i % stores.length] as AuthStore, i)));
}

/** Accounts, OAuth clients, codes and tokens, sign-in throttling and notifications, on every adapter. */
export function describeAuthStoreContract(adapter: StorageAdapter): void {
  describe(`AuthStore contract (${adapter.name})`, () => {
    let under: StorageUnderTest;
    let store: AuthStore;
    beforeEach(async () => {
      under = await adapter.open();
      store = under.auth;
    });
    afterEach(async () => {
      await under.close();
    });

    test('users: found by id, username and fhirUser; unique; partial updates merge; listed by username', async () => {
      await store.insertUser(user(2));
      await store.insertUser(user(1, { fhirUser: 'Patient/pat-1', roles: [] }));
      await expect(store.insertUser(user(2, { id: 'u-other' }))).rejects.toThrow();
      expect(await store.userByUsername('user.2')).toEqual(user(2));
      expect((await store.userByFhirUser('Patient/pat-1'))?.id).toBe('u-1');
      expect(await store.userById('u-9')).toBeUndefined();
      await store.updateUser('u-2', { disabled: true, keystore: '{"k":1}' });
      expect(await store.userById('u-2')).toEqual({ ...user(2), disabled: true, keystore: '{"k":1}' });
      expect((await store.listUsers()).map((u) => u.username)).toEqual(['user.1', 'user.2']);
    });

    test('a TOTP time step is consumed once, and never an earlier one, even by two processes at once', async () => {
      await store.insertUser(user(1));
      const results = await race([store, under.otherAuth()], 8, (s) => s.consumeTotpStep('u-1', 100));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.consumeTotpStep('u-1', 99)).toBe(false);
      expect(await store.consumeTotpStep('u-1', 101)).toBe(true);
      expect((await store.userById('u-1'))?.totpLastStep).toBe(101);
    });

    test('clients: inserted, approved, listed by id, deleted once', async () => {
      await store.insertClient(client('b'));
      await store.insertClient(client('a'));
      await store.updateClient('b', { status: 'approved' });
      expect(await store.client('b')).toEqual({ ...client('b'), status: 'approved' });
      expect((await store.listClients()).map((c) => c.clientId)).toEqual(['a', 'b']);
      expect(await store.deleteClient('a')).toBe(true);
      expect(await store.deleteClient('a')).toBe(false);
      expect(await store.client('a')).toBeUndefined();
    });

    test('an authorization code is redeemed once, whichever process tries', async () => {
      const code = {
        codeHash: 'c1',
        clientId: 'a',
        userId: 'u-1',
        redirectUri: 'https://app.example/cb',
        codeChallenge: 'x',
        scope: 'openid',
        expiresAt: 2_000_000_000,
      };
      await store.insertCode(code);
      expect(await store.code('c1')).toEqual(code);
      const results = await race([store, under.otherAuth()], 6, (s, i) =>
        s.redeemCode('c1', 10 + i, `f${i}`),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await store.code('c1')).toEqual({ ...code, usedAt: 10 + winner, family: `f${winner}` });
    });

    test('refresh tokens rotate once; revoking the family revokes them and its access tokens', async () => {
      const token = {
        tokenHash: 'r1',
        family: 'fam',
        clientId: 'a',
        userId: 'u-1',
        scope: 'offline_access',
        expiresAt: 2_000_000_000,
      };
      await store.insertRefreshToken(token);
      const results = await race([store, under.otherAuth()], 6, (s) => s.rotateRefreshToken('r1', 50));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.isFamilyRevoked('fam')).toBe(false);
      await store.revokeFamily('fam', 60);
      await store.revokeFamily('fam', 70);
      expect(await store.refreshToken('r1')).toEqual({ ...token, rotatedAt: 50, revokedAt: 60 });
      expect(await store.isFamilyRevoked('fam')).toBe(true);
      expect(await store.tokenStatus('j1', 'fam', undefined)).toEqual({ revoked: true });
    });

    test("one statement answers a bearer token's revocation, its user and its client", async () => {
      await store.insertUser(user(1));
      expect(await store.tokenStatus('j1', 'fam', 'u-1')).toEqual({ revoked: false, user: user(1) });
      expect(await store.tokenStatus('j1', undefined, undefined)).toEqual({ revoked: false });
      expect(await store.tokenStatus('j1', undefined, 'u-9')).toEqual({ revoked: false });
      await store.revokeAccessToken('j1', Math.floor(Date.now() / 1000) + 300);
      await store.revokeAccessToken('j1', Math.floor(Date.now() / 1000) + 300);
      expect(await store.isAccessTokenRevoked('j1')).toBe(true);
      expect(await store.tokenStatus('j1', undefined, 'u-1')).toEqual({ revoked: true, user: user(1) });
      expect((await under.otherAuth().tokenStatus('j1', undefined, undefined)).revoked).toBe(true);
      await store.insertClient(client('app'));
      expect(await store.tokenStatus('j2', undefined, undefined, 'app')).toEqual({
        revoked: false,
        client: client('app'),
      });
      expect(await store.tokenStatus('j2', undefined, undefined, 'gone')).toEqual({ revoked: false });
    });

    test('a client-assertion jti is accepted once per client, across processes', async () => {
      const exp = Math.floor(Date.now() / 1000) + 300;
      const seen = await race([store, under.otherAuth()], 6, (s) => s.seenAssertion('a', 'jti-1', exp));
      expect(seen.filter((s) => !s)).toHaveLength(1);
      expect(await store.seenAssertion('b', 'jti-1', exp)).toBe(false);
    });

    test('notifications: newest first for the recipients asked; read only by a recipient', async () => {
      await store.insertNotification(notification('n1', 'Patient/p', '2026-12-07T07:00:00.000Z'));
      await store.insertNotification(notification('n2', 'role:privacy-officer', '2026-12-07T08:00:00.000Z'));
      await store.insertNotification(notification('n3', 'Patient/q', '2026-12-07T09:00:00.000Z'));
      expect((await store.notifications(['Patient/p', 'role:privacy-officer'])).map((n) => n.id)).toEqual([
        'n2',
        'n1',
      ]);
      expect(await store.notifications([])).toEqual([]);
      expect(await store.markNotificationRead('n1', ['Patient/q'], '2026-12-07T10:00:00.000Z')).toBe(false);
      expect(await store.markNotificationRead('n1', ['Patient/p'], '2026-12-07T10:00:00.000Z')).toBe(true);
      expect((await store.notifications(['Patient/p']))[0]?.readAt).toBe('2026-12-07T10:00:00.000Z');
    });

    test('throttle: free failures, doubling delays up to the cap, a hard lock at the limit', async () => {
      const policy = THROTTLE_POLICIES.account;
      let now = T0;
      const delays: number[] = [];
      for (let i = 1; i <= 16; i += 1) {
        const count = await store.countThrottleAttempt('k', policy, now);
        if (!count.counted) throw new Error(`attempt ${i} refused`);
        expect(count.state).toEqual({
          failures: i,
          lockedUntil: count.state.lockedUntil,
          lastFailureAt: now,
        });
        delays.push(count.state.lockedUntil - now);
        now = Math.max(now, count.state.lockedUntil);
      }
      const s = 1_000;
      expect(delays).toEqual([
        0,
        0,
        0,
        0,
        s,
        2 * s,
        4 * s,
        8 * s,
        16 * s,
        32 * s,
        64 * s,
        128 * s,
        256 * s,
        512 * s,
        900 * s,
        900 * s,
      ]);
      expect((await store.countThrottleAttempt('k', policy, now)).counted).toBe(true);
      const locked = await store.countThrottleAttempt('k', policy, now + 1_000);
      expect(locked).toEqual({ counted: false, lockedUntil: now + 900 * s });
      expect((await store.throttleState('k'))?.failures).toBe(17);
      const small: ThrottlePolicy = { ...policy, hardLimit: 3, freeFailures: 5 };
      await store.countThrottleAttempt('h', small, T0);
      await store.countThrottleAttempt('h', small, T0);
      const third = await store.countThrottleAttempt('h', small, T0);
      expect(third).toEqual({
        counted: true,
        state: { failures: 3, lockedUntil: HARD_LOCKED, lastFailureAt: T0 },
      });
      expect(await store.countThrottleAttempt('h', small, T0 + 10 ** 12)).toEqual({
        counted: false,
        lockedUntil: HARD_LOCKED,
      });
      await store.clearThrottleState('h');
      expect(await store.throttleState('h')).toBeUndefined();
    });

    test('throttle: forgotten after a quiet hour; a taken-back attempt lifts only its own lock', async () => {
      const policy = THROTTLE_POLICIES.client;
      let last = { failures: 0, lockedUntil: 0, lastFailureAt: 0 };
      for (let i = 0; i < 21; i += 1) {
        const count = await store.countThrottleAttempt('ip', policy, T0);
        if (count.counted) last = count.state;
      }
      expect(last).toEqual({ failures: 20, lockedUntil: T0 + 1_000, lastFailureAt: T0 });
      await store.takeBackThrottleAttempt('ip', T0 + 1_000);
      expect(await store.throttleState('ip')).toEqual({ failures: 19, lockedUntil: 0, lastFailureAt: T0 });
      await store.takeBackThrottleAttempt('ip', 12345);
      expect((await store.throttleState('ip'))?.lockedUntil).toBe(0);
      const later = await store.countThrottleAttempt('ip', policy, T0 + 61 * 60_000);
      expect(later).toEqual({
        counted: true,
        state: { failures: 1, lockedUntil: T0 + 61 * 60_000, lastFailureAt: T0 + 61 * 60_000 },
      });
      await store.takeBackThrottleAttempt('ip', T0 + 61 * 60_000);
      expect(await store.throttleState('ip')).toBeUndefined();
    });

    test('throttle: forty guesses at once from two processes, and exactly five pass before the lock', async () => {
      const results = await race([store, under.otherAuth()], 40, (s) =>
        s.countThrottleAttempt('burst', THROTTLE_POLICIES.account, T0),
      );
      expect(results.filter((r) => r.counted)).toHaveLength(5);
      expect(await store.throttleState('burst')).toEqual({
        failures: 5,
        lockedUntil: T0 + 1_000,
        lastFailureAt: T0,
      });
    });

    test('a fixed window counts every request once, across processes, and starts again in the next', async () => {
      const hits = await race([store, under.otherAuth()], 30, (s) => s.countInWindow('w', 60_000));
      expect([...hits].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      expect(await store.countInWindow('w', 120_000)).toBe(1);
      expect(await store.countInWindow('w', 60_000)).toBe(2);
      expect(await store.countInWindow('other', 120_000)).toBe(1);
    });
  });
}
