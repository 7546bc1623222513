import { expect, test } from 'vitest';
import * as smart from './index.js';

// Pins the public face of the SMART module (after viem's export snapshot test).
test('exports', () => {
  expect(Object.keys(smart).sort()).toEqual([
    'CLIENT_ASSERTION_ALGORITHMS',
    'CLIENT_ASSERTION_FAILURE_REASONS',
    'JWT_ALGORITHMS',
    'JWT_FAILURE_REASONS',
    'MAX_CLIENT_ASSERTION_LIFETIME_SECONDS',
    'NAMED_SCOPES',
    'PKCE_METHODS',
    'SCOPE_CONTEXTS',
    'SCOPE_DENIAL_REASONS',
    'SCOPE_PERMISSIONS',
    'computeJwkThumbprint',
    'createClientAssertion',
    'createPkceChallenge',
    'createScopeFilter',
    'createSigningKey',
    'evaluateClientStanding',
    'evaluateScopes',
    'formatScope',
    'formatScopes',
    'isJwtAlgorithm',
    'isScopeSubset',
    'isUnregisteredClient',
    'narrowScopes',
    'parsePkceChallenge',
    'parseScope',
    'parseScopes',
    'signJwt',
    'verifyClientAssertion',
    'verifyClientStanding',
    'verifyJwt',
    'verifyPkce',
  ]);
});

test('the closed reason lists', () => {
  expect(smart.JWT_FAILURE_REASONS).toEqual([
    'expired',
    'not-yet-valid',
    'wrong-issuer',
    'wrong-audience',
    'malformed',
    'unsupported-algorithm',
    'unknown-key',
    'bad-signature',
    'missing-claim',
  ]);
  expect(smart.CLIENT_ASSERTION_FAILURE_REASONS.slice(smart.JWT_FAILURE_REASONS.length)).toEqual([
    'unknown-client',
    'wrong-subject',
    'lifetime-too-long',
    'replayed',
  ]);
});
