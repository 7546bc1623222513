/**
 * Telehealth share (issue 22, decision 0030): a patient lets a clinician outside the consortium read
 * chosen categories of their record for some hours. The clinician gets a link (share id + link secret)
 * and, separately, a one-time code; the code opens one viewing session that lasts until the share
 * expires or the patient revokes it. Code guesses are throttled like sign-in second factors.
 *
 * Every read goes through the vault as the patient's own delegated access (the policy keeps it to the
 * patient's compartment) with the share named as the recipient agent (`urn:careledger:telehealth-share:<id>`),
 * so each access is a sealed AuditEvent in the transparency log and in the patient's access history.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { categorizeResource } from '../access/index.js';
import { RESOURCE_CATEGORIES } from '../access/resource-categories.js';
import type { AccessContext } from '../audit/create-audit-event.js';
import type { SignInThrottle } from '../auth/sign-in-throttle.js';
import { CareLedgerError } from '../errors/index.js';
import { ALL_DATA_CATEGORIES, type DataCategory } from '../ledger/codes.js';
import type { ShareStore, TelehealthShare } from './share-store.js';

export const SHARE_AGENT_PREFIX = 'urn:careledger:telehealth-share:';
export const MAX_SHARE_HOURS = 72;
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';

/** How the access history names a share's reader. */
export function shareAgentName(reference: string): string | undefined {
  return reference.startsWith(SHARE_AGENT_PREFIX)
    ? `external clinician via share ${reference.slice(SHARE_AGENT_PREFIX.length)}`
    : undefined;
}

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}

export interface ShareServiceDeps {
  readonly store: ShareStore;
  readonly throttle: Pick<SignInThrottle, 'begin'>;
  readonly now?: () => Date;
  readonly randomBytes?: (n: number) => Uint8Array;
}

/** What the patient gets once: the link secret and the code are never shown again. */
export interface CreatedShare {
  readonly share: TelehealthShare;
  readonly linkSecret: string;
  readonly code: string;
}

export interface ShareRequest {
  readonly categories: unknown;
  readonly hours: unknown;
  readonly purposeText: unknown;
  readonly recipient: unknown;
}

export class ShareService {
  private readonly now: () => Date;
  private readonly random: (n: number) => Uint8Array;

  constructor(private readonly deps: ShareServiceDeps) {
    this.now = deps.now ?? (() => new Date());
    this.random = deps.randomBytes ?? ((n) => randomBytes(n));
  }

  private code(): string {
    const bytes = this.random(10);
    return Array.from(bytes, (b) => CODE_ALPHABET[b % CODE_ALPHABET.length]).join('');
  }

  async create(patientId: string, request: ShareRequest): Promise<CreatedShare> {
    const { categories, hours, purposeText, recipient } = request;
    if (
      !Array.isArray(categories) ||
      categories.length === 0 ||
      !categories.every((c) => typeof c === 'string' && (ALL_DATA_CATEGORIES as string[]).includes(c))
    ) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'choose at least one category to share', {
        details: { field: 'categories' },
      });
    }
    if (typeof hours !== 'number' || !Number.isInteger(hours) || hours < 1 || hours > MAX_SHARE_HOURS) {
      throw new CareLedgerError('ERR_INVALID_INPUT', `a share lasts 1 to ${MAX_SHARE_HOURS} hours`, {
        details: { field: 'hours' },
      });
    }
    if (typeof purposeText !== 'string' || purposeText.trim().length < 3 || purposeText.length > 200) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'say why you share (3 to 200 characters)', {
        details: { field: 'purposeText' },
      });
    }
    if (typeof recipient !== 'string' || recipient.trim() === '' || recipient.length > 120) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'name the clinician you share with', {
        details: { field: 'recipient' },
      });
    }
    const now = this.now();
    const id = Buffer.from(this.random(9)).toString('base64url');
    const linkSecret = Buffer.from(this.random(24)).toString('base64url');
    const code = this.code();
    const share: TelehealthShare = {
      id,
      patientId,
      categories: [...new Set(categories as string[])],
      purposeText: purposeText.trim(),
      recipient: recipient.trim(),
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + hours * 3_600_000).toISOString(),
      linkHash: sha256Hex(linkSecret),
      codeHash: sha256Hex(code),
    };
    await this.deps.store.insert(share);
    return { share, linkSecret, code };
  }

  async list(patientId: string): Promise<TelehealthShare[]> {
    return this.deps.store.listByPatient(patientId);
  }

  /** The patient ends a share at once; a session it opened stops working with it. */
  async revoke(patientId: string, id: string): Promise<TelehealthShare> {
    const share = await this.deps.store.get(id);
    if (share === undefined || share.patientId !== patientId)
      throw new CareLedgerError('ERR_NOT_FOUND', 'no such share');
    if (share.revokedAt !== undefined) return share;
    const next = { ...share, revokedAt: this.now().toISOString() };
    if (!(await this.deps.store.replace(share, next))) return this.revoke(patientId, id);
    return next;
  }

  /** A share the link names, while it is in force; the same answer for unknown, expired and revoked. */
  private async inForce(id: string, linkSecret: string): Promise<TelehealthShare> {
    const share = await this.deps.store.get(id);
    const gone = new CareLedgerError('ERR_GONE', 'this share has ended or the link is not valid');
    if (share === undefined || !sameHash(share.linkHash, sha256Hex(linkSecret))) throw gone;
    if (share.revokedAt !== undefined || this.now().toISOString() >= share.expiresAt) throw gone;
    return share;
  }

  /**
   * The clinician opens the link with the one-time code: answers a viewing session token. Every try is
   * counted (per share and per address) before the code is checked, as sign-in does.
   */
  async open(
    id: string,
    linkSecret: string,
    code: unknown,
    address: string,
  ): Promise<{ session: string; share: TelehealthShare }> {
    const share = await this.inForce(id, linkSecret);
    const attempt = await this.deps.throttle.begin([
      { scope: 'second-factor', id: `telehealth-share/${id}` },
      { scope: 'client', id: address },
    ]);
    const typed = typeof code === 'string' ? code.trim().toUpperCase() : '';
    if (share.codeUsedAt !== undefined || !sameHash(share.codeHash, sha256Hex(typed))) {
      await attempt.failed();
      throw new CareLedgerError(
        'ERR_UNAUTHENTICATED',
        share.codeUsedAt !== undefined
          ? 'this share has already been opened: ask the patient for a new share'
          : 'the code is not right',
      );
    }
    await attempt.succeeded();
    const session = Buffer.from(this.random(32)).toString('base64url');
    const next = { ...share, codeUsedAt: this.now().toISOString(), sessionHash: sha256Hex(session) };
    if (!(await this.deps.store.replace(share, next)))
      throw new CareLedgerError('ERR_UNAUTHENTICATED', 'this share has already been opened');
    return { session, share: next };
  }

  /** The share a viewing session belongs to, while it is in force. */
  async viewing(id: string, linkSecret: string, session: string): Promise<TelehealthShare> {
    const share = await this.inForce(id, linkSecret);
    if (share.sessionHash === undefined || !sameHash(share.sessionHash, sha256Hex(session)))
      throw new CareLedgerError('ERR_UNAUTHENTICATED', 'open the share with its code first');
    return share;
  }
}

/** The vault access of a share's reader: the patient's own delegated access, the share as recipient. */
export function shareAccessContext(share: TelehealthShare, address?: string): AccessContext {
  return {
    who: `Patient/${share.patientId}`,
    purpose: 'TREAT',
    onBehalfOf: `${SHARE_AGENT_PREFIX}${share.id}`,
    ...(address === undefined ? {} : { address }),
  };
}

/** The record's own bookkeeping (who read it, consents, provenance): never shown through a share. */
const NOT_SHARED_TYPES: ReadonlySet<string> = new Set([
  'AuditEvent',
  'Consent',
  'Provenance',
  'Group',
  'Person',
]);

/** Resource types that may hold records of the shared categories (Observation by its content). */
export function sharedTypes(categories: readonly string[]): string[] {
  return Object.entries(RESOURCE_CATEGORIES)
    .filter(([type]) => !NOT_SHARED_TYPES.has(type))
    .filter(([, c]) => c === 'by-content' || (c !== null && categories.includes(c)))
    .map(([type]) => type);
}

/** A record is shown only when every category it falls in was shared (sensitivity labels included). */
export function isShared(resource: Resource, categories: readonly string[]): boolean {
  if (NOT_SHARED_TYPES.has(resource.resourceType)) return false;
  const of: DataCategory[] = categorizeResource(resource);
  return of.length > 0 && of.every((c) => categories.includes(c));
}
