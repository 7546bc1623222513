import { randomUUID } from 'node:crypto';
import { getAddress, isAddress } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { isPurposeOfUse } from '../ledger/codes.js';
import { verifyAddressJwt } from '../smart/address-jwt.js';
import { formatScopes, narrowScopes, parseScopes, signJwt } from '../smart/index.js';
import type { OAuthClient } from './auth-store.js';
import type { AccessClaims, AuthServerDeps, TokenResponse } from './authorization-server-options.js';
import { oauthError } from './oauth-error.js';

type Deps = Pick<AuthServerDeps, 'options' | 'seconds' | 'tokenEndpoint' | 'limits' | 'authenticateClient'>;

/**
 * A consortium member's client assertion (ES256K, signed by its ledger key): the member is the
 * client, known from the ledger, so no member registers at every other member.
 */
async function authenticateMember(
  deps: Pick<AuthServerDeps, 'options' | 'seconds' | 'tokenEndpoint' | 'limits'>,
  form: URLSearchParams,
): Promise<OAuthClient | undefined> {
  const assertion = form.get('client_assertion');
  if (assertion === null || deps.options.isActiveMember === undefined) return undefined;
  let alg: unknown;
  try {
    alg = JSON.parse(Buffer.from(assertion.split('.')[0] ?? '', 'base64url').toString('utf8')).alg;
  } catch {
    return undefined;
  }
  if (alg !== 'ES256K') return undefined;
  if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
    throw oauthError('invalid_client', 'client_assertion_type must be jwt-bearer', 'ERR_UNAUTHENTICATED');
  }
  let verified: ReturnType<typeof verifyAddressJwt>;
  try {
    verified = await verifyAddressJwt(assertion, { audience: deps.tokenEndpoint, now: deps.seconds() });
  } catch (error) {
    const reason = error instanceof CareLedgerError ? String(error.details.reason ?? '') : '';
    throw oauthError('invalid_client', `client authentication failed (${reason})`, 'ERR_UNAUTHENTICATED');
  }
  const member = getAddress(verified.address);
  if (!(await deps.options.isActiveMember(member)))
    throw oauthError(
      'invalid_client',
      'the signer is not an active consortium member',
      'ERR_UNAUTHENTICATED',
    );
  await deps.limits.countRequest(member);
  if (
    await deps.options.store.seenAssertion(
      member,
      verified.claims.jti as string,
      verified.claims.exp as number,
    )
  )
    throw oauthError('invalid_client', 'client authentication failed (jti replay)', 'ERR_UNAUTHENTICATED');
  return {
    clientId: member,
    name: 'consortium member',
    redirectUris: [],
    allowedScopes: 'system/*.rs',
    memberAddress: member,
    createdAt: new Date(0).toISOString(),
  };
}

/**
 * On whose behalf and why a member asks (IHE IUA-style token request parameters): `purpose_of_use`
 * (an HL7 v3 PurposeOfUse code) and `practitioner` (the ledger address of a practitioner the
 * requesting member attests on the ledger).
 */
async function memberActor(
  deps: Pick<AuthServerDeps, 'options' | 'seconds'>,
  form: URLSearchParams,
  member: string,
): Promise<{ purpose?: string; act?: { sub: string } }> {
  const purpose = form.get('purpose_of_use') ?? undefined;
  if (purpose !== undefined && !isPurposeOfUse(purpose))
    throw oauthError('invalid_request', 'purpose_of_use is not an HL7 v3 PurposeOfUse code');
  const practitioner = form.get('practitioner') ?? undefined;
  if (practitioner === undefined) return purpose === undefined ? {} : { purpose };
  if (!isAddress(practitioner, { strict: false }))
    throw oauthError('invalid_request', 'practitioner must be a ledger address');
  const attestation = await deps.options.practitionerAttestation?.(getAddress(practitioner));
  if (
    attestation === undefined ||
    attestation.revoked ||
    attestation.organization.toLowerCase() !== member.toLowerCase() ||
    attestation.expiresAt <= deps.seconds()
  ) {
    throw oauthError(
      'invalid_grant',
      'the practitioner is not attested on the ledger by the requesting member',
    );
  }
  return {
    ...(purpose === undefined ? {} : { purpose }),
    act: { sub: `Practitioner/${getAddress(practitioner)}` },
  };
}

/** SMART Backend Services: client_credentials with private_key_jwt, a member's or a registered client's. */
export async function clientCredentials(deps: Deps, form: URLSearchParams): Promise<TokenResponse> {
  if (form.get('client_assertion') === null) {
    throw oauthError(
      'invalid_client',
      'client_credentials needs private_key_jwt client authentication',
      'ERR_UNAUTHENTICATED',
    );
  }
  const client = (await authenticateMember(deps, form)) ?? (await deps.authenticateClient(form));
  const actor = client.memberAddress === undefined ? {} : await memberActor(deps, form, client.memberAddress);
  const requested = parseScopes(form.get('scope') ?? '');
  const granted = narrowScopes(requested, parseScopes(client.allowedScopes));
  if (granted.length === 0)
    throw oauthError('invalid_scope', 'none of the requested scopes is allowed to this client');
  const now = deps.seconds();
  const expiresIn = Math.min(300, deps.options.accessTokenSeconds ?? 300);
  const claims: AccessClaims = {
    iss: deps.options.issuer,
    aud: deps.options.fhirBaseUrl,
    sub: client.clientId,
    client_id: client.clientId,
    scope: formatScopes(granted),
    jti: randomUUID(),
    iat: now,
    exp: now + expiresIn,
    ...(client.memberAddress === undefined ? {} : { member: client.memberAddress }),
    ...actor,
  };
  return {
    access_token: await signJwt({ ...claims }, deps.options.signingKey.privateJwk),
    token_type: 'Bearer',
    expires_in: expiresIn,
    scope: claims.scope,
  };
}
