import { randomUUID } from 'node:crypto';
import { type Address, getAddress, isAddress } from 'viem';
import { isStaffRole } from '../access/index.js';
import { CareLedgerError } from '../errors/index.js';
import {
  createPasswordHash,
  createTotpSecret,
  createTotpUri,
  parsePatientKeystore,
} from '../identity/index.js';
import type { AuthStore, OAuthClient, UserAccount } from './auth-store.js';
import { throttleKeyHash } from './sign-in-throttle.js';

export interface NewUser {
  readonly username: string;
  readonly password: string;
  /** `Practitioner/<id>` or `Patient/<id>`. */
  readonly fhirUser: string;
  readonly roles?: readonly string[];
  readonly ledgerAddress?: string;
  /** A patient's encrypted keystore (Web3 Secret Storage JSON), made on the patient's side. */
  readonly keystore?: unknown;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Self-registered apps waiting for the operator at most (RFC 7591 §3 lets the server refuse a
 * registration): registration needs no account, so without a bound anyone could fill the store and
 * bury a look-alike app among thousands in the approval queue (session 29 review).
 */
export const DEFAULT_MAX_PENDING_REGISTRATIONS = 50;
/** Seconds a refused self-registration is told to wait (the operator works through the queue). */
const PENDING_QUEUE_RETRY_SECONDS = 3600;

/**
 * RFC 8252 §7.3 / §8.3 and OAuth 2.0 Security BCP §4.1: `https`, or `http` to the loopback interface
 * for native apps; never another scheme (`javascript:`, `data:`, even with a loopback "host"), never a
 * fragment (RFC 6749 §3.1.2) or user info (a host that reads like another).
 */
export function isAllowedRedirectUri(url: URL): boolean {
  if (url.hash !== '' || url.username !== '' || url.password !== '') return false;
  if (url.protocol === 'https:') return url.hostname !== '';
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/** Enrolment of the node's users and OAuth clients (operator actions; the patient portal uses it too). */
export class UserDirectory {
  constructor(
    private readonly options: {
      store: AuthStore;
      /** Seals a TOTP secret under the node key. */
      seal: (userId: string, secret: string) => Promise<string>;
      issuer: string;
      now?: () => Date;
      /** Self-registered apps that may wait for approval at once (default 50). */
      maxPendingRegistrations?: number;
    },
  ) {}

  /** Creates a user with a fresh TOTP secret; returns the secret once, for the authenticator app. */
  async createUser(input: NewUser): Promise<{ user: UserAccount; totpSecret: string; otpauthUri: string }> {
    if (typeof input.username !== 'string' || !/^[A-Za-z0-9._@-]{3,64}$/.test(input.username)) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'username: 3 to 64 letters, digits or ._@-');
    }
    if (
      typeof input.fhirUser !== 'string' ||
      !/^(Practitioner|Patient)\/[A-Za-z0-9\-.]{1,64}$/.test(input.fhirUser)
    ) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'fhirUser must be Practitioner/<id> or Patient/<id>');
    }
    const isPatient = input.fhirUser.startsWith('Patient/');
    const roles = isPatient ? [] : [...(input.roles ?? ['clinician'])];
    if (!roles.every(isStaffRole)) throw new CareLedgerError('ERR_INVALID_INPUT', 'unknown staff role');
    let ledgerAddress: Address | undefined;
    if (input.ledgerAddress !== undefined) {
      if (!isAddress(input.ledgerAddress, { strict: false })) {
        throw new CareLedgerError('ERR_INVALID_INPUT', 'ledgerAddress is not an address');
      }
      ledgerAddress = getAddress(input.ledgerAddress);
    }
    if (!isPatient && ledgerAddress === undefined) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'a practitioner needs the ledger address their credential is attested under',
      );
    }
    let keystore: string | undefined;
    if (input.keystore !== undefined) {
      if (!isPatient) throw new CareLedgerError('ERR_INVALID_INPUT', 'only a patient has a consent keystore');
      const parsed = parsePatientKeystore(input.keystore);
      if (ledgerAddress !== undefined && getAddress(`0x${parsed.address}`) !== ledgerAddress) {
        throw new CareLedgerError('ERR_INVALID_INPUT', 'the keystore is not for the given ledger address');
      }
      ledgerAddress ??= getAddress(`0x${parsed.address}`);
      keystore = JSON.stringify(parsed);
    }
    if ((await this.options.store.userByUsername(input.username)) !== undefined) {
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'that username is taken');
    }
    if ((await this.options.store.userByFhirUser(input.fhirUser)) !== undefined) {
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', `${input.fhirUser} already has an account`);
    }
    const id = randomUUID();
    const totpSecret = createTotpSecret();
    const user: UserAccount = {
      id,
      username: input.username,
      passwordHash: await createPasswordHash(input.password),
      totpSealed: await this.options.seal(id, totpSecret),
      fhirUser: input.fhirUser,
      roles,
      ...(ledgerAddress === undefined ? {} : { ledgerAddress }),
      ...(keystore === undefined ? {} : { keystore }),
      createdAt: (this.options.now?.() ?? new Date()).toISOString(),
      disabled: false,
    };
    await this.options.store.insertUser(user);
    return {
      user,
      totpSecret,
      otpauthUri: createTotpUri({
        secret: totpSecret,
        issuer: `CareLedger ${new URL(this.options.issuer).hostname}`,
        account: input.username,
      }),
    };
  }

  /**
   * Registers an OAuth client. Public SMART apps (PKCE, no secret) may register themselves (RFC 7591);
   * backend services with keys (private_key_jwt) and other members' systems are registered by the
   * operator.
   */
  async createClient(input: {
    name: string;
    redirectUris?: readonly string[];
    jwks?: unknown;
    memberAddress?: string;
    allowedScopes?: string;
    clientId?: string;
    /** Self-registered apps wait for the operator's approval; the operator's own are approved. */
    registeredVia?: 'operator' | 'self' | 'software-statement';
    softwareId?: string;
  }): Promise<OAuthClient> {
    if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 200) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'client_name is required');
    }
    const redirectUris = [...(input.redirectUris ?? [])];
    for (const uri of redirectUris) {
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        throw new CareLedgerError('ERR_INVALID_INPUT', 'a redirect URI is not a URL');
      }
      if (!isAllowedRedirectUri(url)) {
        throw new CareLedgerError(
          'ERR_INVALID_INPUT',
          'redirect URIs must be https, or http on the loopback interface (no fragment, no user info)',
        );
      }
    }
    let jwks: OAuthClient['jwks'];
    if (input.jwks !== undefined) {
      const keys = (input.jwks as { keys?: unknown }).keys;
      if (
        !Array.isArray(keys) ||
        keys.length === 0 ||
        keys.some((k) => typeof k !== 'object' || k === null || 'd' in k)
      ) {
        throw new CareLedgerError('ERR_INVALID_INPUT', 'jwks must be a JWK Set of public keys');
      }
      jwks = keys;
    }
    if (jwks === undefined && redirectUris.length === 0) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'a public client needs at least one redirect URI');
    }
    let memberAddress: Address | undefined;
    if (input.memberAddress !== undefined) {
      if (!isAddress(input.memberAddress, { strict: false })) {
        throw new CareLedgerError('ERR_INVALID_INPUT', 'memberAddress is not an address');
      }
      memberAddress = getAddress(input.memberAddress);
    }
    const client: OAuthClient = {
      clientId: input.clientId ?? randomUUID(),
      name: input.name.trim(),
      redirectUris,
      ...(jwks === undefined ? {} : { jwks }),
      ...(memberAddress === undefined ? {} : { memberAddress }),
      allowedScopes:
        input.allowedScopes ??
        (jwks !== undefined && redirectUris.length === 0
          ? 'system/*.rs'
          : 'openid fhirUser profile launch/patient offline_access online_access patient/*.cruds user/*.cruds'),
      createdAt: (this.options.now?.() ?? new Date()).toISOString(),
      registeredVia: input.registeredVia ?? 'operator',
      // RFC 7591 §3 lets the server hold a registration for review: an app that registered itself
      // cannot be signed in to until the operator approves it (look-alike apps, issue 14 item 6).
      status: (input.registeredVia ?? 'operator') === 'self' ? 'pending' : 'approved',
      ...(input.softwareId === undefined ? {} : { softwareId: input.softwareId }),
    };
    if ((await this.options.store.client(client.clientId)) !== undefined) {
      throw new CareLedgerError('ERR_PRECONDITION_FAILED', 'that client_id is taken');
    }
    if (client.status === 'pending') await this.verifyPendingQueueRoom();
    await this.options.store.insertClient(client);
    return client;
  }

  /** Refuses a self-registration while the approval queue is full (429 with Retry-After). */
  private async verifyPendingQueueRoom(): Promise<void> {
    const max = this.options.maxPendingRegistrations ?? DEFAULT_MAX_PENDING_REGISTRATIONS;
    if ((await this.listClients({ status: 'pending' })).length < max) return;
    throw new CareLedgerError(
      'ERR_RATE_LIMITED',
      "too many apps are waiting for the node operator's approval; register again later",
      { details: { retryAfter: PENDING_QUEUE_RETRY_SECONDS } },
    );
  }

  /** The registered OAuth clients, optionally only those waiting for approval. */
  async listClients(filter: { status?: 'pending' | 'approved' } = {}): Promise<OAuthClient[]> {
    return (await this.options.store.listClients()).filter(
      (client) => filter.status === undefined || (client.status ?? 'approved') === filter.status,
    );
  }

  /** The operator approves a self-registered app: from now on users can sign in to it. */
  async approveClient(clientId: string): Promise<OAuthClient> {
    const client = await this.options.store.client(clientId);
    if (client === undefined) throw new CareLedgerError('ERR_NOT_FOUND', 'no such client');
    await this.options.store.updateClient(clientId, { status: 'approved' });
    return { ...client, status: 'approved' };
  }

  /** The operator refuses a pending registration (an approved client is revoked by the same call). */
  async rejectClient(clientId: string): Promise<void> {
    if (!(await this.options.store.deleteClient(clientId)))
      throw new CareLedgerError('ERR_NOT_FOUND', 'no such client');
  }

  /**
   * The operator lifts a sign-in lockout (SP 800-63B §5.2.2: after 100 consecutive failures only an
   * operator can): the username's count and, if it exists, its second factor's.
   */
  async unlockSignIn(username: string): Promise<{ unlocked: boolean }> {
    await this.options.store.clearThrottleState(throttleKeyHash({ scope: 'account', id: username }));
    const user = await this.options.store.userByUsername(username);
    if (user !== undefined)
      await this.options.store.clearThrottleState(throttleKeyHash({ scope: 'second-factor', id: user.id }));
    return { unlocked: true };
  }
}
