import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { type Hex, isHex } from 'viem';
import { generatePrivateKey, type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts';
import { CareLedgerError } from '../errors/index.js';
import { createSignerKey, formatVerifierKey, parseSignerKey } from '../log/index.js';
import { createSigningKey, type Jwk } from '../smart/index.js';
import { writeFileDurably } from '../storage/write-file-durably.js';

/**
 * The member's secp256k1 ledger key, as a hex file readable by the owner only. In production the path
 * comes from CARELEDGER_CHAIN_KEY_FILE (docs/deploy/besu-qbft.md).
 */
export function loadOrCreateLedgerKey(path: string): PrivateKeyAccount {
  const keyFile = process.env.CARELEDGER_CHAIN_KEY_FILE ?? path;
  if (!existsSync(keyFile)) writeFileDurably(keyFile, `${generatePrivateKey()}\n`, 0o600);
  const text = readFileSync(keyFile, 'utf8').trim();
  if (!isHex(text) || text.length !== 66) {
    throw new CareLedgerError('ERR_CONFIG', `the ledger key file ${keyFile} does not hold a 32-byte hex key`);
  }
  return privateKeyToAccount(text as Hex);
}

/** The log's C2SP signed-note Ed25519 signer key; returns the signer text and its verifier key text. */
export function loadOrCreateLogSignerKey(
  path: string,
  origin: string,
): { signerKey: string; verifierKey: string } {
  if (!existsSync(path)) writeFileDurably(path, `${createSignerKey(origin).signerKey}\n`, 0o600);
  const signerKey = readFileSync(path, 'utf8').trim();
  const parsed = parseSignerKey(signerKey);
  return { signerKey, verifierKey: formatVerifierKey(parsed.name, parsed.type, parsed.publicKey) };
}

export function loadOrCreateAdminToken(path: string): string {
  if (!existsSync(path)) writeFileDurably(path, `${randomBytes(32).toString('base64url')}\n`, 0o600);
  return readFileSync(path, 'utf8').trim();
}

/** The ES256 key the node signs its OAuth access and ID tokens with (JWK, mode 0600). */
export function loadOrCreateTokenSigningKey(path: string): { privateJwk: Jwk; publicJwk: Jwk } {
  if (!existsSync(path)) writeFileDurably(path, `${JSON.stringify(createSigningKey('ES256'))}\n`, 0o600);
  return JSON.parse(readFileSync(path, 'utf8')) as { privateJwk: Jwk; publicJwk: Jwk };
}
