import { randomUUID } from 'node:crypto';
import { CareLedgerError } from '../errors/index.js';
import { verifyAddressJwt } from '../smart/address-jwt.js';
import { formatScopes, narrowScopes, parseScopes, signJwt } from '../smart/index.js';
import type { AccessClaims, AuthServerDeps, TokenResponse } from './authorization-server-options.js';
import { oauthError } from './oauth-error.js';

/**
 * RFC 7523 §2.1 authorization grant: a patient's assertion signed with their ledger key (ES256K,
 * see `createPatientAssertion`). The patient is this node's Patient carrying that ledger address;
 * the token reads only that patient's compartment, for PATRQT (the patient's own request).
 */
export async function patientAssertion(
  deps: Pick<AuthServerDeps, 'options' | 'seconds' | 'tokenEndpoint' | 'limits'>,
  form: URLSearchParams,
): Promise<TokenResponse> {
  const assertion = form.get('assertion') ?? '';
  const now = deps.seconds();
  let address: string;
  let jti: string;
  let exp: number;
  try {
    const verified = await verifyAddressJwt(assertion, { audience: deps.tokenEndpoint, now });
    address = verified.address;
    jti = verified.claims.jti as string;
    exp = verified.claims.exp as number;
  } catch (error) {
    const reason = error instanceof CareLedgerError ? String(error.details.reason ?? '') : '';
    throw oauthError('invalid_grant', `the assertion is not valid (${reason || 'invalid'})`);
  }
  await deps.limits.countRequest(`patient:${address}`);
  if (await deps.options.store.seenAssertion(`patient:${address}`, jti, exp))
    throw oauthError('invalid_grant', 'the assertion was already used (jti replay)');
  const patient = await deps.options.patientByLedgerAddress?.(address as `0x${string}`);
  if (patient === undefined)
    throw oauthError('invalid_grant', 'no patient at this member holds that ledger address');
  const requested = parseScopes(form.get('scope') ?? 'patient/*.rs');
  const granted = narrowScopes(requested, parseScopes('patient/*.rs'));
  if (granted.length === 0) throw oauthError('invalid_scope', 'a patient assertion grants patient/*.rs only');
  const expiresIn = Math.min(300, deps.options.accessTokenSeconds ?? 300);
  const claims: AccessClaims = {
    iss: deps.options.issuer,
    aud: deps.options.fhirBaseUrl,
    sub: address,
    client_id: `patient:${address}`,
    scope: formatScopes(granted),
    jti: randomUUID(),
    iat: now,
    exp: now + expiresIn,
    fhirUser: `Patient/${patient}`,
    patient,
    purpose: 'PATRQT',
    amr: ['patient-key'],
  };
  return {
    access_token: await signJwt({ ...claims }, deps.options.signingKey.privateJwk),
    token_type: 'Bearer',
    expires_in: expiresIn,
    scope: claims.scope,
    patient,
  };
}
