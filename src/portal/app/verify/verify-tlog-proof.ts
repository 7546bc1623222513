/**
 * C2SP tlog-proof verification in the browser: the same checks as src/log/tlog-proof.ts (which uses
 * node:crypto), over @noble/hashes and @noble/curves. Tested against the Node implementation in
 * src/portal/browser-verify.test.ts.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesEqual, concatBytes, decodeBase64, toHex, utf8 } from './bytes.js';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';
const EM_DASH_PREFIX = '\u2014 ';
const HASH_SIZE = 32;
/** Signed-note signature types (c2sp.org/signed-note "Signature types"). */
const ED25519 = 0x01;
const COSIGNATURE_V1 = 0x04;

/** The verification steps, in order; a failure names its step. */
export type VerificationStep = 'parse' | 'commitment' | 'log-signature' | 'cosignatures' | 'inclusion';

/** A failed verification, with the step and a reason from a closed list, for the portal to show. */
export class ProofVerificationError extends Error {
  constructor(
    readonly step: VerificationStep,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'ProofVerificationError';
  }
}

const fail = (step: VerificationStep, reason: string, message: string): never => {
  throw new ProofVerificationError(step, reason, message);
};

/** RFC 9162 §2.1.1: MTH({d(0)}) = SHA-256(0x00 || d(0)). */
export function hashLeaf(entry: Uint8Array): Uint8Array {
  return sha256(concatBytes(Uint8Array.of(0), entry));
}

/** RFC 9162 §2.1.1: SHA-256(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(Uint8Array.of(1), left, right));
}

const bitLength = (n: number) => (n === 0 ? 0 : Math.floor(Math.log2(n)) + 1);
const onesCount = (n: number) => {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
};
// Sizes up to 2^53: shifts and xor through BigInt, not 32-bit operators.
const xor = (a: number, b: number) => Number(BigInt(a) ^ BigInt(b));
const shiftRight = (a: number, n: number) => Number(BigInt(a) >> BigInt(n));
const bitAt = (a: number, i: number) => Number((BigInt(a) >> BigInt(i)) & 1n);

/** RFC 9162 §2.1.3.2: the root implied by an inclusion proof (transparency-dev/merkle's decomposition). */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
): Uint8Array {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || size < 0) {
    fail('inclusion', 'invalid-size', 'the index or tree size is not a non-negative integer');
  }
  if (index >= size) fail('inclusion', 'index-out-of-range', 'the entry is not below the tree size');
  if (leafHash.length !== HASH_SIZE || proof.some((h) => h.length !== HASH_SIZE)) {
    fail('inclusion', 'hash-length', 'a hash in the proof is not 32 bytes');
  }
  const inner = bitLength(xor(index, size - 1));
  const border = onesCount(shiftRight(index, inner));
  if (proof.length !== inner + border) {
    fail('inclusion', 'proof-length', `the inclusion proof must have ${inner + border} hashes`);
  }
  let acc = leafHash;
  proof.slice(0, inner).forEach((h, i) => {
    acc = bitAt(index, i) === 0 ? hashChildren(acc, h) : hashChildren(h, acc);
  });
  for (const h of proof.slice(inner)) acc = hashChildren(h, acc);
  return acc;
}

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly signature: Uint8Array;
}

export interface NoteVerifier {
  readonly name: string;
  readonly keyId: Uint8Array;
  readonly type: typeof ED25519 | typeof COSIGNATURE_V1;
  readonly publicKey: Uint8Array;
}

/** c2sp.org/signed-note: key ID = SHA-256(name || 0x0A || type || public key)[:4]. */
export function computeKeyId(name: string, type: number, publicKey: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8.encode(name), Uint8Array.of(0x0a, type), publicKey)).slice(0, 4);
}

/** `<name>+<hex key ID>+<base64(type || key)>`, the key ID checked. */
export function parseVerifierKey(text: string): NoteVerifier {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  if (first <= 0 || second < 0) fail('parse', 'key-format', 'the verifier key is not <name>+<id>+<key>');
  const name = text.slice(0, first);
  const idHex = text.slice(first + 1, second);
  const blob = decodeBase64(text.slice(second + 1));
  if (blob === undefined || blob.length !== 33)
    fail('parse', 'key-encoding', 'the verifier key is malformed');
  const type = (blob as Uint8Array)[0];
  if (type !== ED25519 && type !== COSIGNATURE_V1) fail('parse', 'key-type', 'unsupported key type');
  const publicKey = (blob as Uint8Array).slice(1);
  if (toHex(computeKeyId(name, type as number, publicKey)) !== idHex) {
    fail('parse', 'key-id-mismatch', 'the verifier key ID does not match the key');
  }
  return { name, keyId: computeKeyId(name, type as number, publicKey), type: type as 1 | 4, publicKey };
}

/** A member's witness key: its log key as a cosignature/v1 key named `<origin>/witness` (src/node/witness-keys.ts). */
export function witnessVerifierOf(logVerifierKey: string, logOrigin: string): NoteVerifier {
  const log = parseVerifierKey(logVerifierKey);
  const name = `${logOrigin}/witness`;
  return {
    name,
    keyId: computeKeyId(name, COSIGNATURE_V1, log.publicKey),
    type: COSIGNATURE_V1,
    publicKey: log.publicKey,
  };
}

/** c2sp.org/signed-note "Format": text, blank line, `— <name> <base64(keyID || sig)>` lines. */
export function parseSignedNote(message: string): { text: string; signatures: NoteSignature[] } {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what we reject.
  if (/[\u0000-\u0009\u000b-\u001f]/.test(message))
    fail('parse', 'control-character', 'the note has a control character');
  const split = message.lastIndexOf('\n\n');
  if (split < 0) fail('parse', 'missing-signature-block', 'the checkpoint has no signatures');
  const text = message.slice(0, split + 1);
  const block = message.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n'))
    fail('parse', 'malformed-signature-line', 'the signature block is malformed');
  const signatures = block
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      if (!line.startsWith(EM_DASH_PREFIX))
        fail('parse', 'malformed-signature-line', 'a signature line is malformed');
      const rest = line.slice(EM_DASH_PREFIX.length);
      const space = rest.indexOf(' ');
      const blob = space < 0 ? undefined : decodeBase64(rest.slice(space + 1));
      if (blob === undefined || blob.length < 5)
        fail('parse', 'malformed-signature', 'a signature is not valid base64');
      const bytes = blob as Uint8Array;
      return { name: rest.slice(0, space), keyId: bytes.slice(0, 4), signature: bytes.slice(4) };
    });
  return { text, signatures };
}

/** C2SP tlog-checkpoint note text: origin, decimal size, base64 root hash. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n')) fail('parse', 'checkpoint', 'the checkpoint must end with a newline');
  const [origin = '', sizeText = '', rootText = ''] = text.slice(0, -1).split('\n');
  const rootHash = decodeBase64(rootText);
  if (origin === '' || !/^(?:0|[1-9][0-9]*)$/.test(sizeText) || rootHash?.length !== HASH_SIZE) {
    fail('parse', 'checkpoint', 'the checkpoint is malformed');
  }
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) fail('parse', 'checkpoint', 'the tree size is too large');
  return { origin, size, rootHash: rootHash as Uint8Array };
}

export interface TlogProof {
  readonly extra?: Uint8Array;
  readonly index: number;
  readonly proof: readonly Uint8Array[];
  readonly checkpoint: string;
}

/** c2sp.org/tlog-proof "Format": header, optional extra, index, proof hashes, blank line, checkpoint. */
export function parseTlogProof(text: string): TlogProof {
  const lines = text.split('\n');
  let i = 0;
  if (lines[i++] !== TLOG_PROOF_HEADER)
    fail('parse', 'header', `the first line must be ${TLOG_PROOF_HEADER}`);
  let line = lines[i++];
  let extra: Uint8Array | undefined;
  if (line?.startsWith('extra ')) {
    extra = decodeBase64(line.slice('extra '.length));
    if (extra === undefined) fail('parse', 'extra', 'the extra data is not canonical base64');
    line = lines[i++];
  }
  const indexText = line?.startsWith('index ') ? line.slice('index '.length) : '';
  if (!/^(?:0|[1-9][0-9]*)$/.test(indexText))
    fail('parse', 'index', 'the index line is missing or malformed');
  const proof: Uint8Array[] = [];
  for (line = lines[i++]; line !== undefined && line !== ''; line = lines[i++]) {
    const h = decodeBase64(line);
    if (h === undefined || h.length !== HASH_SIZE)
      fail('parse', 'proof-hash', 'a proof line is not a 32-byte hash');
    proof.push(h as Uint8Array);
  }
  if (line === undefined) fail('parse', 'truncated', 'the proof has no checkpoint');
  const checkpoint = lines.slice(i).join('\n');
  return extra === undefined
    ? { index: Number(indexText), proof, checkpoint }
    : { extra, index: Number(indexText), proof, checkpoint };
}

function signatureValid(text: string, sig: NoteSignature, verifier: NoteVerifier): boolean {
  try {
    if (verifier.type === COSIGNATURE_V1) {
      if (sig.signature.length !== 72) return false;
      const view = new DataView(sig.signature.buffer, sig.signature.byteOffset, 8);
      const timestamp = view.getBigUint64(0);
      if (timestamp > BigInt(Number.MAX_SAFE_INTEGER)) return false;
      const message = utf8.encode(`cosignature/v1\ntime ${timestamp}\n${text}`);
      return ed25519.verify(sig.signature.slice(8), message, verifier.publicKey);
    }
    return (
      sig.signature.length === 64 && ed25519.verify(sig.signature, utf8.encode(text), verifier.publicKey)
    );
  } catch {
    return false;
  }
}

/** Signatures from `verifiers` that verify; a known key whose signature fails throws (signed-note rule). */
function verifiedSigners(
  text: string,
  signatures: readonly NoteSignature[],
  verifiers: readonly NoteVerifier[],
  step: VerificationStep,
): NoteVerifier[] {
  const found: NoteVerifier[] = [];
  for (const verifier of verifiers) {
    const sig = signatures.find((s) => s.name === verifier.name && bytesEqual(s.keyId, verifier.keyId));
    if (sig === undefined) continue;
    if (!signatureValid(text, sig, verifier)) {
      fail(step, 'signature-invalid', `the signature of ${verifier.name} does not verify`);
    }
    found.push(verifier);
  }
  return found;
}

export interface VerifyTlogProofOptions {
  /** The log's verifier key, as the ledger publishes it (`GET /ledger/members`, `logVerifierKey`). */
  readonly logVerifierKey: string;
  readonly witnesses?: readonly NoteVerifier[];
  readonly witnessThreshold?: number;
  /** The entry the proof must include (recomputed by the caller, never taken from `extra`). */
  readonly entry: Uint8Array;
  /** The index the entry must be at. */
  readonly index?: number;
}

export interface VerifiedTlogProof {
  readonly checkpoint: Checkpoint;
  readonly index: number;
  readonly witnesses: readonly string[];
}

/** Parse, log signature, k-of-n witness cosignatures, inclusion; throws ProofVerificationError naming the step. */
export function verifyTlogProof(text: string, options: VerifyTlogProofOptions): VerifiedTlogProof {
  const proof = parseTlogProof(text);
  const note = parseSignedNote(proof.checkpoint);
  const checkpoint = parseCheckpoint(note.text);
  if (options.index !== undefined && proof.index !== options.index) {
    fail('parse', 'index-mismatch', `the proof is for entry ${proof.index}, not ${options.index}`);
  }
  const log = parseVerifierKey(options.logVerifierKey);
  if (checkpoint.origin !== log.name) {
    fail('log-signature', 'origin-mismatch', 'the checkpoint is not from the expected log');
  }
  if (verifiedSigners(note.text, note.signatures, [log], 'log-signature').length === 0) {
    fail('log-signature', 'missing-signature', 'the checkpoint is not signed by the log');
  }
  const witnesses = verifiedSigners(note.text, note.signatures, options.witnesses ?? [], 'cosignatures');
  const threshold = options.witnessThreshold ?? 0;
  if (witnesses.length < threshold) {
    fail(
      'cosignatures',
      'insufficient-signatures',
      `${witnesses.length} of the ${threshold} witness cosignatures required`,
    );
  }
  const root = rootFromInclusionProof(hashLeaf(options.entry), proof.index, checkpoint.size, proof.proof);
  if (!bytesEqual(root, checkpoint.rootHash)) {
    fail('inclusion', 'root-mismatch', 'the inclusion proof does not lead to the signed root');
  }
  return { checkpoint, index: proof.index, witnesses: witnesses.map((w) => w.name) };
}
