/**
 * Telehealth shares in words (issue 22, decision 0030): a share's state as its patient reads it, and the
 * share link's route (`#/shared/<id>/<link secret>`) taken apart. Pure functions.
 */
import { formatDateTime } from './dom.js';

/** A share as `GET /shares` answers it (never its secrets). */
export interface ShareView {
  readonly id: string;
  readonly categories: readonly string[];
  readonly purposeText: string;
  readonly recipient: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly revokedAt?: string;
  readonly openedAt?: string;
}

export type ShareState = 'active' | 'expired' | 'revoked';

export function shareState(share: ShareView, now: Date): ShareState {
  if (share.revokedAt !== undefined) return 'revoked';
  return now.toISOString() >= share.expiresAt ? 'expired' : 'active';
}

export const SHARE_STATE_WORDS: Readonly<Record<ShareState, string>> = {
  active: 'in force',
  expired: 'ended',
  revoked: 'revoked',
};

/** "Opened with the code on 7 Dec 2026, 14:02" or "Not opened yet". */
export function openedWords(share: ShareView): string {
  return share.openedAt === undefined
    ? 'Not opened yet'
    : `Opened with the code on ${formatDateTime(share.openedAt)}`;
}

/** "until 7 Dec 2026, 16:02", "revoked on …", "ended on …". */
export function periodWords(share: ShareView, now: Date): string {
  const state = shareState(share, now);
  if (state === 'revoked') return `revoked on ${formatDateTime(share.revokedAt)}`;
  if (state === 'expired') return `ended on ${formatDateTime(share.expiresAt)}`;
  return `until ${formatDateTime(share.expiresAt)}`;
}

/** The share link's route parameter `<id>/<link secret>`; undefined when it is not one. */
export function parseShareRoute(param: string): { id: string; link: string } | undefined {
  const match = /^([A-Za-z0-9_-]{1,64})\/([A-Za-z0-9_-]{16,128})$/.exec(param);
  return match === null ? undefined : { id: match[1] as string, link: match[2] as string };
}

/** The lengths a share may last, in hours, as the form offers them (the server allows 1 to 72). */
export const SHARE_HOURS: readonly (readonly [number, string])[] = [
  [1, '1 hour'],
  [2, '2 hours'],
  [4, '4 hours'],
  [8, '8 hours'],
  [24, '1 day'],
  [48, '2 days'],
  [72, '3 days'],
];
