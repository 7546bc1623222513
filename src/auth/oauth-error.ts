import { CareLedgerError } from '../errors/index.js';

/** RFC 6749 §5.2 / RFC 6750 §3.1 error codes, carried in CareLedgerError details as `oauth`. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'unsupported_response_type'
  | 'invalid_token'
  /** RFC 6749 §4.1.2.1; at the token endpoint with 429 when a client's limit is reached. */
  | 'temporarily_unavailable';

export function oauthError(
  oauth: OAuthErrorCode,
  message: string,
  code: 'ERR_INVALID_INPUT' | 'ERR_UNAUTHENTICATED' | 'ERR_FORBIDDEN' = 'ERR_INVALID_INPUT',
): CareLedgerError {
  return new CareLedgerError(code, message, { details: { oauth } });
}
