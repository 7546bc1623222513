/**
 * Guardian shares made in the browser: Shamir's secret sharing over GF(2^8) and the
 * `careledger-share-v1` text of src/identity/shamir.ts (which uses node:crypto), so the CLI's
 * `careledger patient key recover` combines shares made here. Tested against the Node side.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8 } from './bytes.js';

/** FIPS-197 §4.2: product in GF(2^8) without branches or table lookups on the (secret) operands. */
function gfMultiply(a: number, b: number): number {
  let product = 0;
  let x = a & 0xff;
  let y = b & 0xff;
  for (let i = 0; i < 8; i++) {
    product ^= -(y & 1) & x;
    x = ((x << 1) ^ (-(x >> 7) & 0x1b)) & 0xff;
    y >>= 1;
  }
  return product & 0xff;
}

/** Shares at x = 1..n of `secret`, any `threshold` of which recover it (coefficients from `random`). */
export function splitSecretInBrowser(
  secret: Uint8Array,
  shares: number,
  threshold: number,
  random: (size: number) => Uint8Array = (size) => crypto.getRandomValues(new Uint8Array(size)),
): { x: number; y: Uint8Array }[] {
  if (
    !Number.isInteger(threshold) ||
    !Number.isInteger(shares) ||
    threshold < 2 ||
    threshold > shares ||
    shares > 255
  ) {
    throw new Error('need 2 ≤ threshold ≤ shares ≤ 255');
  }
  const degree = threshold - 1;
  const coefficients = random(secret.length * degree);
  const out: { x: number; y: Uint8Array }[] = [];
  for (let x = 1; x <= shares; x++) {
    const y = new Uint8Array(secret.length);
    for (let i = 0; i < secret.length; i++) {
      let acc = 0;
      for (let d = degree; d >= 1; d--) acc = gfMultiply(acc, x) ^ (coefficients[i * degree + d - 1] ?? 0);
      y[i] = gfMultiply(acc, x) ^ (secret[i] ?? 0);
    }
    out.push({ x, y });
  }
  coefficients.fill(0);
  return out;
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
