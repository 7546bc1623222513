/**
 * The key of a study's pseudonyms (study-pseudonym.ts), decision 0024 §release:
 *
 *   studyKey = HKDF-SHA-256(IKM = the consortium's research pseudonym secret,
 *                           salt = "careledger-research-study-key/v1", info = the study id), 32 bytes
 *
 * (RFC 5869). Why a consortium-shared secret and not the study id with each member's own key: a
 * member-keyed HMAC gives one patient a different pseudonym at every member, so a study could not
 * link them across members. Why not the study id alone: anyone knowing the key can compute the
 * pseudonym of a guessed SSN or ledger address, so the key must stay with the members that hold
 * data; the researcher never receives it. Distinct study ids give independent keys, so pseudonyms of
 * two studies cannot be linked without the secret.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Hex, hexToBytes } from 'viem';
import { CareLedgerError } from '../../errors/index.js';
import { MIN_STUDY_KEY_BYTES } from '../study-pseudonym.js';

const SALT = 'careledger-research-study-key/v1';

export function deriveStudyKey(secret: Uint8Array, studyId: Hex): Uint8Array {
  if (secret.length < MIN_STUDY_KEY_BYTES) {
    throw new CareLedgerError(
      'ERR_CONFIG',
      `the research pseudonym secret must be at least ${MIN_STUDY_KEY_BYTES} bytes`,
    );
  }
  return new Uint8Array(hkdfSync('sha256', secret, SALT, hexToBytes(studyId), 32));
}

/**
 * Loads the member's copy of the consortium research secret (64 hex digits, owner-only file), or
 * creates one if there is none: a solo node then links pseudonyms only within its own releases. Every
 * data-holding member of a consortium must hold the same secret (provisioned out of band, like the
 * node's keys); the research member must not.
 */
export function loadOrCreateResearchSecret(
  path: string,
  random: (size: number) => Uint8Array = randomBytes,
): Uint8Array {
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8').trim();
    if (!/^[0-9a-f]{64,}$/i.test(text)) {
      throw new CareLedgerError(
        'ERR_CONFIG',
        'the research pseudonym secret file is not hex of 32 bytes or more',
      );
    }
    return new Uint8Array(Buffer.from(text, 'hex'));
  }
  const secret = random(32);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${Buffer.from(secret).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return secret;
}
