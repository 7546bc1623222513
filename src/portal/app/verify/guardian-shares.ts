/**
 * Guardian shares made in the browser: Shamir's secret sharing by the audited `shamir-secret-sharing`
 * package (the same one src/identity/shamir.ts uses, docs/decisions/0009) and the
 * `careledger-share-v1` text, so the CLI's `careledger patient key recover` combines shares made
 * here. Tested against the Node side.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { split } from 'shamir-secret-sharing';
import { toHex, utf8 } from './bytes.js';

/** Shares (distinct random x) of `secret`, any `threshold` of which recover it. */
export async function splitSecretInBrowser(
  secret: Uint8Array,
  shares: number,
  threshold: number,
): Promise<{ x: number; y: Uint8Array }[]> {
  if (
    !Number.isInteger(threshold) ||
    !Number.isInteger(shares) ||
    threshold < 2 ||
    threshold > shares ||
    shares > 255
  ) {
    throw new Error('need 2 ≤ threshold ≤ shares ≤ 255');
  }
  // The package's shares are y || x.
  return (await split(secret, shares, threshold)).map((bytes) => {
    const share = { x: bytes[bytes.length - 1] as number, y: bytes.slice(0, -1) };
    bytes.fill(0);
    return share;
  });
}

/** `careledger-share-v1:<id>:<threshold>:<x>:<hex y>:<first 4 bytes of SHA-256 of the rest>`. */
export function formatShareInBrowser(
  share: { x: number; y: Uint8Array },
  label: { id: string; threshold: number },
): string {
  const body = `careledger-share-v1:${label.id}:${label.threshold}:${share.x}:${toHex(share.y)}`;
  return `${body}:${toHex(sha256(utf8.encode(body)).slice(0, 4))}`;
}

/** The guardian's file, as `careledger patient key create` writes it (comment lines, then the share). */
export function formatShareFileInBrowser(
  share: string,
  guardian: number,
  guardians: number,
  threshold: number,
): string {
  return [
    `# CareLedger guardian share ${guardian} of ${guardians}. Any ${threshold} of these shares together recover a patient's ledger key.`,
    '# This share alone reveals nothing about the key. Keep it private and offline; hand it back only to help the patient recover.',
    share,
    '',
  ].join('\n');
}
