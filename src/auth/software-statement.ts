import { createLocalJWKSet, type JWK, jwtVerify } from 'jose';
import { CareLedgerError } from '../errors/index.js';

/** The client metadata a software statement vouches for (RFC 7591 §2.3). */
export interface SoftwareStatement {
  /** Who signed it (a publisher the operator trusts). */
  readonly iss: string;
  readonly softwareId?: string;
  readonly clientName: string;
  readonly redirectUris: readonly string[];
  readonly scope?: string;
}

/** Asymmetric algorithms only: a shared secret would let every holder mint statements. */
const ALGORITHMS = ['ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'RS256', 'RS384', 'EdDSA'];

/**
 * Verifies an RFC 7591 §2.3 software statement: a JWT signed by a key the operator trusts (node.json
 * `clientRegistration.softwareStatementKeys`). Its metadata wins over the same fields sent in clear
 * (§2.3: "take precedence"). Throws ERR_INVALID_INPUT with a reason that names no key material.
 */
export async function verifySoftwareStatement(
  statement: string,
  trustedKeys: readonly JWK[],
  now: number = Date.now(),
): Promise<SoftwareStatement> {
  if (trustedKeys.length === 0) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'this node trusts no software statement signer', {
      details: { reason: 'no-trusted-keys' },
    });
  }
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(statement, createLocalJWKSet({ keys: [...trustedKeys] }), {
      algorithms: ALGORITHMS,
      currentDate: new Date(now),
      requiredClaims: ['iss'],
    }));
  } catch (cause) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the software statement is not signed by a trusted key', {
      cause,
      details: { reason: 'signature' },
    });
  }
  const redirectUris = payload.redirect_uris;
  if (
    typeof payload.client_name !== 'string' ||
    !Array.isArray(redirectUris) ||
    !redirectUris.every((u) => typeof u === 'string')
  ) {
    throw new CareLedgerError(
      'ERR_INVALID_INPUT',
      'the software statement must name client_name and redirect_uris',
      { details: { reason: 'metadata' } },
    );
  }
  return {
    iss: String(payload.iss),
    clientName: payload.client_name,
    redirectUris: redirectUris as string[],
    ...(typeof payload.software_id === 'string' ? { softwareId: payload.software_id } : {}),
    ...(typeof payload.scope === 'string' ? { scope: payload.scope } : {}),
  };
}
