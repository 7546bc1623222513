/**
 * Whether the OAuth client an access token was issued to still stands (issue 14): deleting a client
 * (`DELETE /admin/clients/{id}`) or putting it back to pending must end its live access tokens on the
 * next request, not at their expiry (up to 300 s). Like the token's revocation and the user's standing,
 * this is asked on every request, outside the JWT verification cache, which holds only what the token's
 * own bytes decide (decision 0017): so a cached verification cannot let a removed client's token pass.
 */
import { CareLedgerError } from '../errors/index.js';

/** What is known of the client now (undefined: no client has this id any more). */
export interface ClientRecord {
  /** ISO instant of its registration. */
  readonly createdAt: string;
  /** Undefined means approved (clients registered before approval existed). */
  readonly status?: 'pending' | 'approved';
}

/** The claims of a verified access token this needs: its client and when it was issued (seconds). */
export interface TokenClient {
  readonly client_id: string;
  readonly iat?: number;
  /** The consortium member the token acts for, if any. */
  readonly member?: string;
}

export type ClientStanding =
  | { readonly stands: true }
  | { readonly stands: false; readonly reason: 'client-removed' | 'client-not-approved' };

/**
 * Tokens that no registration backs: a patient signing in with their ledger key (`patient:0x…`), and
 * a consortium member authenticated by its ledger key (the client id is the member's address, checked
 * against the ledger's member list at issue). They stand as long as the token does.
 */
export function isUnregisteredClient(token: TokenClient): boolean {
  if (token.client_id.startsWith('patient:')) return true;
  return (
    token.member !== undefined &&
    /^0x[0-9a-fA-F]{40}$/.test(token.client_id) &&
    token.client_id.toLowerCase() === token.member.toLowerCase()
  );
}

/**
 * Decides a token's client standing from the client as stored now. A client registered again under the
 * same id after the token was issued is another registration: the old token does not stand with it.
 */
export function evaluateClientStanding(token: TokenClient, client: ClientRecord | undefined): ClientStanding {
  if (token.client_id.startsWith('patient:')) return { stands: true };
  // A registration the operator made under a member's address is judged as one.
  if (client === undefined)
    return isUnregisteredClient(token) ? { stands: true } : { stands: false, reason: 'client-removed' };
  const registeredAt = Math.floor(Date.parse(client.createdAt) / 1000);
  if (typeof token.iat !== 'number' || !Number.isFinite(registeredAt) || token.iat < registeredAt)
    return { stands: false, reason: 'client-removed' };
  if (client.status === 'pending') return { stands: false, reason: 'client-not-approved' };
  return { stands: true };
}

const MESSAGES = {
  'client-removed': 'the access token was issued to an OAuth client that has been removed',
  'client-not-approved': 'the access token was issued to an OAuth client that is no longer approved',
} as const;

/**
 * Looks the token's client up and throws ERR_UNAUTHENTICATED (401, `invalid_token`, the reason in the
 * details) unless it stands. One indexed read per request, as for the user's standing.
 */
export async function verifyClientStanding(
  token: TokenClient,
  lookup: (clientId: string) => Promise<ClientRecord | undefined>,
): Promise<void> {
  const client = token.client_id.startsWith('patient:') ? undefined : await lookup(token.client_id);
  const standing = evaluateClientStanding(token, client);
  if (standing.stands) return;
  throw new CareLedgerError('ERR_UNAUTHENTICATED', MESSAGES[standing.reason], {
    details: { oauth: 'invalid_token', reason: standing.reason },
  });
}
