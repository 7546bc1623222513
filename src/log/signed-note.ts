import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { CareLedgerError } from '../errors/index.js';
import { decodeBase64, encodeBase64 } from './base64.js';

/**
 * C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 signatures (type 0x01) and C2SP
 * tlog-cosignature v1 timestamped Ed25519 cosignatures (type 0x04).
 */

/** Signature type identifier bytes (c2sp.org/signed-note, "Signature types"). */
export const NOTE_KEY_TYPES = { ed25519: 0x01, 'cosignature/v1': 0x04 } as const;
export type NoteKeyType = keyof typeof NOTE_KEY_TYPES;

/** Go's golang.org/x/mod/sumdb/note accepts at most 100 signatures; the spec requires at least 16. */
export const MAX_NOTE_SIGNATURES = 100;

const EM_DASH_PREFIX = '\u2014 ';
const COSIGNATURE_HEADER = 'cosignature/v1\n';
const ED25519_SIGNATURE_SIZE = 64;
const TIMESTAMP_SIZE = 8;
// DER prefixes of an Ed25519 PKCS#8 private key and SPKI public key (RFC 8410 §7 and §4).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly type: NoteKeyType;
  readonly publicKey: Uint8Array;
}

export interface NoteSigner extends NoteVerifier {
  /** Never serialised or logged. */
  readonly privateKey: KeyObject;
}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: Uint8Array;
  /** Signature bytes after the 4-byte key ID. */
  readonly signature: Uint8Array;
}

export interface SignedNote {
  /** The note text, including its final newline but not the blank separator line. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export interface VerifiedNoteSignature {
  readonly verifier: NoteVerifier;
  /** Cosignature time in Unix seconds (cosignature/v1 only). */
  readonly timestamp?: number;
}

export interface VerifiedNote {
  readonly text: string;
  readonly verified: readonly VerifiedNoteSignature[];
}

function noteError(reason: string, message: string, extra: Record<string, unknown> = {}): never {
  throw new CareLedgerError('ERR_LOG_NOTE_INVALID', message, { details: { reason, ...extra } });
}

function keyError(reason: string, message: string): never {
  throw new CareLedgerError('ERR_INVALID_INPUT', message, { details: { reason } });
}

/** Key names are non-empty and contain no Unicode spaces, '+' or control characters. */
export function isValidKeyName(name: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject.
  return name.length > 0 && !/[\s+\u0000-\u001f\u007f]/u.test(name) && !LONE_SURROGATE.test(name);
}

/** c2sp.org/signed-note: key ID = SHA-256(name || 0x0A || type || public key)[:4]. */
export function computeKeyId(name: string, type: NoteKeyType, publicKey: Uint8Array): Uint8Array {
  const h = createHash('sha256');
  h.update(name, 'utf8');
  h.update(Uint8Array.of(0x0a, NOTE_KEY_TYPES[type]));
  h.update(publicKey);
  return new Uint8Array(h.digest().subarray(0, 4));
}

function typeFromByte(byte: number | undefined): NoteKeyType | undefined {
  if (byte === NOTE_KEY_TYPES.ed25519) return 'ed25519';
  if (byte === NOTE_KEY_TYPES['cosignature/v1']) return 'cosignature/v1';
  return undefined;
}

// With the u flag a surrogate pair is one code point, so \p{Cs} only matches unpaired halves (not UTF-8).
const LONE_SURROGATE = /\p{Cs}/u;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function publicKeyObject(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function rawPublicKey(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length));
}

// `<name>+<hex key ID>+<base64(type || key material)>`; the base64 part may itself contain '+'.
function parseKeyParts(text: string): {
  name: string;
  keyId: Uint8Array;
  type: NoteKeyType;
  material: Uint8Array;
} {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (first < 0 || second < 0) keyError('key-format', 'key is not <name>+<id>+<key>');
  const name = text.slice(0, first);
  const idHex = text.slice(first + 1, second);
  if (!isValidKeyName(name)) keyError('key-name', 'key name is not valid');
  if (!/^[0-9a-f]{8}$/.test(idHex)) keyError('key-id', 'key ID is not 8 lowercase hex digits');
  const blob = decodeBase64(text.slice(second + 1));
  if (blob === undefined) keyError('key-encoding', 'key material is not canonical base64');
  const type = typeFromByte(blob[0]);
  if (type === undefined) keyError('key-type', 'unsupported signature type');
  const material = blob.subarray(1);
  if (material.length !== 32) keyError('key-length', 'Ed25519 key material must be 32 bytes');
  return { name, keyId: new Uint8Array(Buffer.from(idHex, 'hex')), type, material };
}

/** Parses a verifier key `<name>+<hex keyID>+<base64(type || pubkey)>`, checking the key ID. */
export function parseVerifierKey(text: string): NoteVerifier {
  const { name, keyId, type, material } = parseKeyParts(text);
  if (hex(computeKeyId(name, type, material)) !== hex(keyId))
    keyError('key-id-mismatch', 'key ID does not match key');
  return Object.freeze({ name, keyId, type, publicKey: material });
}

/**
 * Parses a signer key `PRIVATE+KEY+<name>+<hex keyID>+<base64(type || seed)>` (golang.org/x/mod/sumdb/note
 * format). Type 0x04 (a cosigner's key) is this module's extension of that format.
 */
export function parseSignerKey(text: string): NoteSigner {
  if (!text.startsWith('PRIVATE+KEY+')) keyError('key-format', 'signer key must start with PRIVATE+KEY+');
  const { name, keyId, type, material } = parseKeyParts(text.slice('PRIVATE+KEY+'.length));
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({
      key: Buffer.concat([PKCS8_PREFIX, material]),
      format: 'der',
      type: 'pkcs8',
    });
  } catch {
    keyError('key-encoding', 'seed is not a valid Ed25519 private key');
  }
  const publicKey = rawPublicKey(createPublicKey(privateKey));
  if (hex(computeKeyId(name, type, publicKey)) !== hex(keyId))
    keyError('key-id-mismatch', 'key ID does not match key');
  return Object.freeze({ name, keyId, type, publicKey, privateKey });
}

/** Generates an Ed25519 key pair and returns its signer and verifier key texts. */
export function createSignerKey(
  name: string,
  options: { type?: NoteKeyType } = {},
): { signerKey: string; verifierKey: string } {
  if (!isValidKeyName(name)) keyError('key-name', 'key name is not valid');
  const type = options.type ?? 'ed25519';
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const seed = privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_PREFIX.length);
  const pub = rawPublicKey(publicKey);
  const id = hex(computeKeyId(name, type, pub));
  const typeByte = Uint8Array.of(NOTE_KEY_TYPES[type]);
  return {
    signerKey: `PRIVATE+KEY+${name}+${id}+${encodeBase64(Buffer.concat([typeByte, seed]))}`,
    verifierKey: `${name}+${id}+${encodeBase64(Buffer.concat([typeByte, pub]))}`,
  };
}

/** Formats a verifier key for a raw 32-byte Ed25519 public key. */
export function formatVerifierKey(name: string, type: NoteKeyType, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) keyError('key-name', 'key name is not valid');
  if (publicKey.length !== 32) keyError('key-length', 'Ed25519 key material must be 32 bytes');
  const blob = Buffer.concat([Uint8Array.of(NOTE_KEY_TYPES[type]), publicKey]);
  return `${name}+${hex(computeKeyId(name, type, publicKey))}+${encodeBase64(blob)}`;
}

/** The verifier half of a signer. */
export function verifierOf(signer: NoteSigner): NoteVerifier {
  const { name, keyId, type, publicKey } = signer;
  return Object.freeze({ name, keyId, type, publicKey });
}

// c2sp.org/signed-note "Format": valid UTF-8, no control characters but newline.
function checkNoteCharacters(text: string): void {
  if (LONE_SURROGATE.test(text)) noteError('not-utf8', 'note is not valid UTF-8');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject.
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text))
    noteError('control-character', 'note contains a control character');
}

function checkNoteText(text: string): void {
  checkNoteCharacters(text);
  if (!text.endsWith('\n')) noteError('text-not-newline-terminated', 'note text must end with a newline');
}

/** c2sp.org/tlog-cosignature "Ed25519 signed message". */
function cosignedMessage(text: string, timestamp: number): Buffer {
  return Buffer.from(`${COSIGNATURE_HEADER}time ${timestamp}\n${text}`, 'utf8');
}

function checkTimestamp(timestamp: number | undefined): number {
  if (timestamp === undefined || !Number.isSafeInteger(timestamp) || timestamp < 0) {
    keyError('timestamp', 'a cosignature needs a non-negative integer timestamp in Unix seconds');
  }
  return timestamp;
}

/** Signs `text` with one signer; cosigners need `timestamp` (Unix seconds, from an injected clock). */
export function createNoteSignature(
  text: string,
  signer: NoteSigner,
  options: { timestamp?: number } = {},
): NoteSignature {
  checkNoteText(text);
  let signature: Uint8Array;
  if (signer.type === 'cosignature/v1') {
    const timestamp = checkTimestamp(options.timestamp);
    const ts = Buffer.alloc(TIMESTAMP_SIZE);
    ts.writeBigUInt64BE(BigInt(timestamp));
    signature = Buffer.concat([ts, sign(null, cosignedMessage(text, timestamp), signer.privateKey)]);
  } else {
    signature = sign(null, Buffer.from(text, 'utf8'), signer.privateKey);
  }
  return Object.freeze({ name: signer.name, keyId: signer.keyId, signature: new Uint8Array(signature) });
}

/** Serialises a note: text, blank line, one `— <name> <base64(keyID || signature)>` line per signature. */
export function formatSignedNote(note: SignedNote): string {
  checkNoteText(note.text);
  if (note.signatures.length === 0) noteError('no-signatures', 'a signed note needs at least one signature');
  if (note.signatures.length > MAX_NOTE_SIGNATURES) noteError('too-many-signatures', 'too many signatures');
  const lines = note.signatures.map((s) => {
    if (!isValidKeyName(s.name)) noteError('invalid-key-name', 'signature key name is not valid');
    if (s.keyId.length !== 4) noteError('malformed-signature', 'key ID must be 4 bytes');
    return `${EM_DASH_PREFIX}${s.name} ${encodeBase64(Buffer.concat([s.keyId, s.signature]))}\n`;
  });
  return `${note.text}\n${lines.join('')}`;
}

/** Signs `text` with every signer and returns the signed note text. */
export function signNote(
  text: string,
  signers: readonly NoteSigner[],
  options: { timestamp?: number } = {},
): string {
  return formatSignedNote({ text, signatures: signers.map((s) => createNoteSignature(text, s, options)) });
}

/** Adds signatures (e.g. a witness cosignature) to an already signed note. */
export function addNoteSignatures(
  note: string | Uint8Array,
  signers: readonly NoteSigner[],
  options: { timestamp?: number } = {},
): string {
  const parsed = parseSignedNote(note);
  const added = signers.map((s) => createNoteSignature(parsed.text, s, options));
  return formatSignedNote({ text: parsed.text, signatures: [...parsed.signatures, ...added] });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict parser for a signed note (c2sp.org/signed-note "Format"). Does not verify anything. */
export function parseSignedNote(input: string | Uint8Array): SignedNote {
  let message: string;
  if (typeof input === 'string') {
    message = input;
  } else {
    try {
      message = utf8.decode(input);
    } catch {
      noteError('not-utf8', 'note is not valid UTF-8');
    }
  }
  checkNoteCharacters(message);
  // The text is separated from the signatures by the last empty line.
  const split = message.lastIndexOf('\n\n');
  if (split < 0) noteError('missing-signature-block', 'note has no blank line before signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (block.length === 0) noteError('no-signatures', 'note has no signatures');
  if (!block.endsWith('\n')) noteError('malformed-signature-line', 'signature block must end with a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) noteError('too-many-signatures', 'too many signatures');
  const signatures = lines.map((line): NoteSignature => {
    if (!line.startsWith(EM_DASH_PREFIX))
      noteError('malformed-signature-line', 'signature line must start with "— "');
    const rest = line.slice(EM_DASH_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) noteError('malformed-signature-line', 'signature line has no signature');
    const name = rest.slice(0, space);
    if (!isValidKeyName(name)) noteError('invalid-key-name', 'signature key name is not valid');
    const blob = decodeBase64(rest.slice(space + 1));
    if (blob === undefined || blob.length < 5)
      noteError('malformed-signature', 'signature is not valid base64');
    return Object.freeze({ name, keyId: blob.slice(0, 4), signature: blob.slice(4) });
  });
  return Object.freeze({ text, signatures: Object.freeze(signatures) });
}

function checkSignature(
  text: string,
  sig: NoteSignature,
  verifier: NoteVerifier,
): VerifiedNoteSignature | undefined {
  const key = publicKeyObject(verifier.publicKey);
  if (verifier.type === 'cosignature/v1') {
    if (sig.signature.length !== TIMESTAMP_SIZE + ED25519_SIGNATURE_SIZE) return undefined;
    const ts = Buffer.from(sig.signature.subarray(0, TIMESTAMP_SIZE)).readBigUInt64BE();
    // c2sp.org/tlog-cosignature: timestamps above 2^63 - 1 are invalid; we also need a safe integer.
    if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    const timestamp = Number(ts);
    const ok = verify(null, cosignedMessage(text, timestamp), key, sig.signature.subarray(TIMESTAMP_SIZE));
    return ok ? Object.freeze({ verifier, timestamp }) : undefined;
  }
  if (sig.signature.length !== ED25519_SIGNATURE_SIZE) return undefined;
  return verify(null, Buffer.from(text, 'utf8'), key, sig.signature)
    ? Object.freeze({ verifier })
    : undefined;
}

/**
 * Verifies a note against known verifiers (c2sp.org/signed-note "Signatures"): signatures whose
 * (name, key ID) match no verifier are ignored; a matching signature that fails rejects the whole note;
 * at least `minimum` (default 1) distinct known verifiers must have signed. Returns who signed.
 */
export function verifyNote(
  note: SignedNote | string | Uint8Array,
  verifiers: readonly NoteVerifier[],
  options: { minimum?: number } = {},
): VerifiedNote {
  const parsed = typeof note === 'string' || note instanceof Uint8Array ? parseSignedNote(note) : note;
  const byId = new Map<string, NoteVerifier>();
  for (const v of verifiers) {
    const id = `${v.name}+${hex(v.keyId)}`;
    if (byId.has(id)) keyError('ambiguous-verifier', 'two verifiers share a key name and ID');
    byId.set(id, v);
  }
  const verified: VerifiedNoteSignature[] = [];
  const seen = new Set<string>();
  for (const sig of parsed.signatures) {
    const id = `${sig.name}+${hex(sig.keyId)}`;
    const verifier = byId.get(id);
    // Repeated signatures by one key count once (as in golang.org/x/mod/sumdb/note).
    if (verifier === undefined || seen.has(id)) continue;
    const result = checkSignature(parsed.text, sig, verifier);
    if (result === undefined) noteError('signature-invalid', 'a signature from a known key does not verify');
    seen.add(id);
    verified.push(result);
  }
  const minimum = options.minimum ?? 1;
  if (verified.length < minimum) {
    noteError('insufficient-signatures', 'not enough known keys signed the note', {
      required: minimum,
      verified: verified.length,
    });
  }
  return Object.freeze({ text: parsed.text, verified: Object.freeze(verified) });
}
