import type { Context } from 'hono';
import { getAddress, isAddress } from 'viem';
import type { AccessContext } from '../audit/create-audit-event.js';
import { CareLedgerError } from '../errors/index.js';
import { isPurposeOfUse } from '../ledger/index.js';
import { hasSocket, isLoopbackAddress, isLoopbackHost, remoteAddress } from './remote-address.js';

/** Resolves who is asking and why, or throws ERR_UNAUTHENTICATED (401 with WWW-Authenticate). */
export type Authenticate = (c: Context) => Promise<AccessContext>;

export interface AuthenticatorOptions {
  /** This node's organization display name (AuditEvent agent). */
  readonly organization: string;
  /**
   * Development identity headers (`X-CareLedger-Identity`, `-Purpose`, `-Roles`): on only when the
   * operator set `devIdentityHeader: true` (the demo consortium does); SMART tokens otherwise.
   */
  readonly devIdentityHeader: boolean;
  /** Bearer-token authentication (SMART on FHIR), tried first when a request carries a token. */
  readonly bearer?: (token: string, c: Context) => Promise<AccessContext>;
}

function unauthenticated(c: Context, message: string, error?: string): never {
  c.header(
    'WWW-Authenticate',
    error === undefined ? 'Bearer realm="careledger"' : `Bearer realm="careledger", error="${error}"`,
  );
  throw new CareLedgerError('ERR_UNAUTHENTICATED', message);
}

/**
 * Headers a proxy adds to what it relays (RFC 7239 `Forwarded`, RFC 9110 §7.6.3 `Via`, and the de
 * facto `X-Forwarded-*` and `X-Real-IP`): a request carrying one came from elsewhere through a proxy on
 * this machine, whose TCP peer and Host are loopback.
 */
const PROXY_HEADERS = ['forwarded', 'via', 'x-forwarded-for', 'x-forwarded-host', 'x-real-ip'] as const;

/**
 * The development header is believed only from this machine: the TCP peer is loopback (a request made
 * in-process has none) and the Host is loopback too, so neither another machine nor a web page that
 * rebinds its DNS name to 127.0.0.1 can claim an identity (CORS keeps the header from other origins);
 * and no proxy relayed it, since a reverse proxy on this machine makes both loopback for any caller.
 */
function verifyLoopbackRequest(c: Context): void {
  const peer = remoteAddress(c);
  const fromLoopback = hasSocket(c) ? peer !== undefined && isLoopbackAddress(peer) : true;
  const relayed = PROXY_HEADERS.some((name) => c.req.header(name) !== undefined);
  if (!fromLoopback || relayed || !loopbackUrl(c.req.url)) {
    unauthenticated(c, 'the development identity header is accepted only on the loopback interface');
  }
}

/**
 * A URL naming `127.0.0.1` or `localhost` with a valid port (or none) has that host name for the URL
 * parser too: answered without parsing it (a URL parsed per request was 0.7% of a read's CPU, issue
 * 16); any other URL is parsed, as before.
 */
const PLAIN_LOOPBACK_URL = /^https?:\/\/(?:127\.0\.0\.1|localhost)(?::(\d{1,5}))?\//;

function loopbackUrl(url: string): boolean {
  const plain = PLAIN_LOOPBACK_URL.exec(url);
  if (plain !== null && (plain[1] === undefined || Number(plain[1]) <= 65_535)) return true;
  return isLoopbackHost(new URL(url).hostname);
}

/** `X-CareLedger-Identity: Practitioner/dr-1`, `Patient/p-1` or `Organization/0x…` (another member). */
function devIdentity(c: Context, organization: string): AccessContext {
  verifyLoopbackRequest(c);
  const who = c.req.header('x-careledger-identity') ?? '';
  if (!/^(Practitioner|Patient|Organization)\/[A-Za-z0-9\-.]{1,64}$/.test(who)) {
    unauthenticated(
      c,
      'X-CareLedger-Identity must be Practitioner/<id>, Patient/<id> or Organization/<address>',
    );
  }
  const purpose = c.req.header('x-careledger-purpose') ?? 'TREAT';
  if (!isPurposeOfUse(purpose)) throw new CareLedgerError('ERR_INVALID_INPUT', 'unknown purpose of use');
  const roles = (c.req.header('x-careledger-roles') ?? '')
    .split(',')
    .map((r) => r.trim())
    .filter((r) => r !== '');
  const id = who.slice(who.indexOf('/') + 1);
  return {
    who,
    organization,
    purpose,
    ...(roles.length === 0 ? {} : { roles }),
    ...(who.startsWith('Organization/') && isAddress(id, { strict: false })
      ? { member: getAddress(id) }
      : {}),
  };
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticate {
  const resolve = resolveIdentity(options);
  return async (c) => {
    const context = await resolve(c);
    // A reader who will check what it receives against the log asks for each version's proof.
    return c.req.header('x-careledger-version-proof') === '1' ? { ...context, versionProofs: true } : context;
  };
}

function resolveIdentity(options: AuthenticatorOptions): Authenticate {
  return async (c) => {
    const authorization = c.req.header('authorization');
    if (authorization !== undefined) {
      const match = /^Bearer\s+([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization.trim());
      if (match === null || options.bearer === undefined) {
        unauthenticated(c, 'the Authorization header must be a Bearer token', 'invalid_request');
      }
      try {
        return await options.bearer(match[1] as string, c);
      } catch (error) {
        if (error instanceof CareLedgerError && error.code === 'ERR_UNAUTHENTICATED') {
          unauthenticated(c, error.message, 'invalid_token');
        }
        throw error;
      }
    }
    if (options.devIdentityHeader) return devIdentity(c, options.organization);
    return unauthenticated(c, 'authentication is required');
  };
}
