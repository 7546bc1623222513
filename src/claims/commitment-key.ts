import { createHmac, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { Address } from 'viem';
import { CareLedgerError } from '../errors/index.js';
import { writeFileDurably } from '../storage/write-file-durably.js';

/**
 * The payer's claims secret (32 random bytes, hex, mode 0600), created on first use. Each provider's
 * claim commitment key is derived from it (HMAC-SHA-256, RFC 2104, over a label and the provider's
 * address), so the payer keeps one secret, each provider learns only its own key, and a provider's
 * key cannot confirm a guess about another provider's claims on the ledger.
 */
export function loadOrCreateClaimsSecret(path: string): Uint8Array {
  if (!existsSync(path)) writeFileDurably(path, `${randomBytes(32).toString('hex')}\n`, 0o600);
  const text = readFileSync(path, 'utf8').trim();
  if (!/^[0-9a-f]{64}$/.test(text))
    throw new CareLedgerError('ERR_CONFIG', `the claims secret file ${path} does not hold 32 bytes of hex`);
  return Buffer.from(text, 'hex');
}

export function deriveCommitmentKey(secret: Uint8Array, provider: Address): Uint8Array {
  return createHmac('sha256', secret)
    .update(`careledger claims commitment key v1|${provider.toLowerCase()}`)
    .digest();
}
