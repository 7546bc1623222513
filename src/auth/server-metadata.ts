/** `/.well-known/smart-configuration` (SMART App Launch §2.0.4) of a node whose base URL is `base`. */
export function smartConfiguration(base: string, tokenEndpoint: string): Record<string, unknown> {
  return {
    issuer: base,
    jwks_uri: `${base}/oauth/jwks`,
    authorization_endpoint: `${base}/oauth/authorize`,
    token_endpoint: tokenEndpoint,
    revocation_endpoint: `${base}/oauth/revoke`,
    introspection_endpoint: `${base}/oauth/introspect`,
    registration_endpoint: `${base}/oauth/register`,
    userinfo_endpoint: `${base}/oauth/userinfo`,
    grant_types_supported: [
      'authorization_code',
      'refresh_token',
      'client_credentials',
      'urn:ietf:params:oauth:grant-type:jwt-bearer',
    ],
    token_endpoint_auth_methods_supported: ['none', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS384', 'ES384', 'ES256', 'ES256K'],
    scopes_supported: [
      'openid',
      'fhirUser',
      'profile',
      'launch/patient',
      'offline_access',
      'online_access',
      'patient/*.cruds',
      'user/*.cruds',
      'system/*.rs',
    ],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    capabilities: [
      'launch-standalone',
      'client-public',
      'client-confidential-asymmetric',
      'context-standalone-patient',
      'permission-offline',
      'permission-online',
      'permission-patient',
      'permission-user',
      'permission-v2',
      'permission-v1',
      'sso-openid-connect',
      'authorize-post',
    ],
  };
}

/** OpenID Connect Discovery 1.0 §3: the SMART configuration with the OpenID fields. */
export function openIdConfiguration(smart: Record<string, unknown>): Record<string, unknown> {
  return {
    ...smart,
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['ES256'],
    claims_supported: ['sub', 'fhirUser', 'name', 'iss', 'aud', 'exp', 'iat', 'nonce'],
  };
}
