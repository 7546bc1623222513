import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
} from 'node:fs';
import { isAbsolute, join, relative } from 'node:path';
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

/**
 * Makes the node's folder owner-only: the folder 0700 and every file in it 0600 (database, WAL,
 * keystore, keys, journal, snapshots), creates `database` empty with 0600 if missing (SQLite gives its
 * -wal and -shm files the mode of the database file), and sets the process umask to 077 so files
 * created later (the chain's journal and snapshots, rotated keys) are owner-only from the start.
 */
export function restrictFileModes(dir: string, database?: string): void {
  process.umask(0o077);
  if (!existsSync(dir)) return;
  const walk = (folder: string) => {
    chmodSync(folder, 0o700);
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile()) chmodSync(path, 0o600);
    }
  };
  walk(dir);
  if (database !== undefined && !existsSync(database)) closeSync(openSync(database, 'a', 0o600));
}

/**
 * An operator-supplied secret (keystore passphrase, HSM PIN) read from a file: the path must be
 * absolute, outside the node's data folder (a copy of the folder must not carry its own key), and the
 * file owner-only (no group or other permission bits). The message names the file, never its content.
 */
export function loadOperatorSecret(path: string, dataDir: string, what: string): string {
  const refuse = (why: string) =>
    new CareLedgerError('ERR_CONFIG', `the ${what} file ${path} ${why}`, {
      details: { reason: 'secret-file' },
    });
  if (!isAbsolute(path)) throw refuse('must be an absolute path');
  if (!existsSync(path)) throw refuse('does not exist');
  const inside = relative(realpathSync(dataDir), realpathSync(path));
  if (!inside.startsWith('..') && !isAbsolute(inside)) throw refuse('must be outside the node data folder');
  if ((statSync(path).mode & 0o077) !== 0) throw refuse('must be readable by its owner only (chmod 600)');
  const secret = readFileSync(path, 'utf8').trim();
  if (secret === '') throw refuse('is empty');
  return secret;
}
