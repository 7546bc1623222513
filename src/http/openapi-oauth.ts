/**
 * The OpenAPI description of SMART discovery and the OAuth 2.0 / OpenID Connect endpoints, kept out of openapi.ts (which assembles the
 * document: the order of its spreads is the order of the published paths).
 */
import { errors } from './openapi-helpers.js';
import type { PathItem } from './openapi-types.js';

/** SMART discovery, OAuth 2.0 / OpenID Connect endpoints. */
export function oauthPaths(): Record<string, PathItem> {
  return {
    '/.well-known/smart-configuration': {
      get: {
        operationId: 'smartConfiguration',
        summary: 'SMART App Launch discovery (also at /fhir/.well-known/smart-configuration)',
        tags: ['oauth'],
        responses: {
          '200': {
            description: 'SMART configuration.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/fhir/.well-known/smart-configuration': {
      get: {
        operationId: 'fhirSmartConfiguration',
        summary: 'SMART App Launch discovery under the FHIR base, where SMART clients look',
        tags: ['oauth'],
        responses: {
          '200': {
            description: 'SMART configuration.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/.well-known/openid-configuration': {
      get: {
        operationId: 'openIdConfiguration',
        summary: 'OpenID Connect discovery',
        tags: ['oauth'],
        responses: {
          '200': {
            description: 'OpenID provider metadata.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/oauth/jwks': {
      get: {
        operationId: 'jwks',
        summary: "The node's token-signing public keys (JWK Set)",
        tags: ['oauth'],
        responses: {
          '200': { description: 'JWK Set.', content: { 'application/json': { schema: { type: 'object' } } } },
        },
      },
    },
    '/oauth/authorize': {
      get: {
        operationId: 'authorize',
        summary:
          'Authorization endpoint: validates the request (PKCE S256, aud, state) and shows the sign-in page (password and TOTP)',
        tags: ['oauth'],
        responses: {
          '200': {
            description: 'The sign-in page.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          '302': { description: 'Back to the app with an error (RFC 6749 §4.1.2.1).' },
          '400': {
            description: 'Unknown client or unregistered redirect URI (never redirected).',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
        },
      },
      post: {
        operationId: 'authorizePost',
        summary: 'Authorization by POST (SMART authorize-post) and the sign-in form: redirects with the code',
        tags: ['oauth'],
        requestBody: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } },
        },
        responses: {
          '200': {
            description: 'The sign-in page.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          '302': { description: 'Back to the app with code and state, or an error.' },
          '400': {
            description: 'Unknown client or unregistered redirect URI.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
          '401': {
            description: 'Wrong credentials: the sign-in page again, with the reason.',
            content: { 'text/html': { schema: { type: 'string' } } },
          },
        },
      },
    },
    '/oauth/token': {
      post: {
        operationId: 'token',
        summary:
          'Token endpoint: authorization_code (PKCE), refresh_token (rotated; reuse revokes the grant), client_credentials (private_key_jwt)',
        tags: ['oauth'],
        requestBody: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } },
        },
        responses: {
          '200': {
            description:
              'access_token (ES256 JWT), token_type, expires_in, scope, refresh_token, id_token, patient.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          '400': {
            description: 'RFC 6749 §5.2 error (invalid_grant, invalid_scope, …).',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          '401': {
            description: 'invalid_client.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/oauth/revoke': {
      post: {
        operationId: 'revoke',
        summary: 'RFC 7009 revocation of a refresh token (and its grant) or an access token',
        tags: ['oauth'],
        requestBody: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } },
        },
        responses: { '200': { description: 'Revoked (or nothing to revoke).' } },
      },
    },
    '/oauth/introspect': {
      post: {
        operationId: 'introspect',
        summary: 'RFC 7662 token introspection',
        description:
          'RFC 7662 §2.1: the caller authenticates with an access token of its own (Authorization: Bearer), still good; otherwise 401 invalid_token (no token scanning).',
        tags: ['oauth'],
        requestBody: {
          required: true,
          content: { 'application/x-www-form-urlencoded': { schema: { type: 'object' } } },
        },
        responses: {
          '200': {
            description: '{ active, … }',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          '401': {
            description:
              'invalid_token: the caller showed no access token of its own, or one no longer good.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/oauth/register': {
      post: {
        operationId: 'register',
        summary: 'RFC 7591 dynamic registration of a public SMART app (PKCE, no secret)',
        description:
          "Redirect URIs must be https, or http on loopback. The app is registered with status pending (nobody can sign in to it until the operator approves it: POST /admin/clients/{id}/approve), unless the body carries a software_statement (RFC 7591 §2.3) signed by a publisher key listed in node.json clientRegistration.softwareStatementKeys; then it is approved at once, under the statement's client_name and redirect_uris.",
        tags: ['oauth'],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          '201': {
            description: 'The client, with its client_id and status (pending or approved).',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
          '400': {
            description: 'invalid_client_metadata, invalid_redirect_uri or invalid_software_statement.',
            content: { 'application/json': { schema: { type: 'object' } } },
          },
        },
      },
    },
    '/oauth/userinfo': {
      get: {
        operationId: 'userinfo',
        summary: 'OpenID Connect userinfo: sub and fhirUser of the token',
        description:
          "OpenID Connect Core §5.3: `sub` is the ID token's (the account id); `fhirUser` is the absolute URL, under the fhirUser scope. 401 without a bearer access token; 403 (insufficient_scope) for a token granted without `openid`.",
        tags: ['oauth'],
        responses: {
          '200': { description: 'Claims.', content: { 'application/json': { schema: { type: 'object' } } } },
          ...errors('Unauthorized', 'Forbidden'),
        },
      },
    },
  };
}
