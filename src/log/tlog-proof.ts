import { CareLedgerError, isCareLedgerError } from '../errors/index.js';
import { decodeBase64, encodeBase64, parseDecimal } from './base64.js';
import { type Checkpoint, parseCheckpoint } from './checkpoint.js';
import { HASH_SIZE, hashLeaf } from './merkle-hash.js';
import { type NoteVerifier, parseSignedNote, type VerifiedNoteSignature, verifyNote } from './signed-note.js';
import { verifyInclusionProof } from './verify-proof.js';

/** C2SP tlog-proof (https://c2sp.org/tlog-proof): an offline-verifiable proof of inclusion. */
export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

export interface TlogProof {
  /** Opaque, unauthenticated extra data; here, by convention, the entry bytes. */
  readonly extra?: Uint8Array;
  readonly index: number;
  /** Inclusion proof, leaf's sibling first (RFC 6962 §2.1.1). */
  readonly proof: readonly Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  readonly checkpoint: string;
}

/** The steps of verifyTlogProof, in order; a failure names its step in `details.step`. */
export const TLOG_PROOF_STEPS = ['parse', 'log-signature', 'cosignatures', 'inclusion'] as const;
export type TlogProofStep = (typeof TLOG_PROOF_STEPS)[number];

function parseFail(reason: string, message: string): never {
  throw new CareLedgerError('ERR_LOG_PROOF_INVALID', message, { details: { step: 'parse', reason } });
}

/** Serialises a tlog proof (c2sp.org/tlog-proof "Format"). */
export function formatTlogProof(proof: TlogProof): string {
  if (!Number.isSafeInteger(proof.index) || proof.index < 0)
    parseFail('index', 'index is not a non-negative integer');
  for (const h of proof.proof)
    if (h.length !== HASH_SIZE) parseFail('proof-hash', 'proof hash is not 32 bytes');
  parseSignedNote(proof.checkpoint);
  const lines = [TLOG_PROOF_HEADER];
  if (proof.extra !== undefined) lines.push(`extra ${encodeBase64(proof.extra)}`);
  lines.push(`index ${proof.index}`, ...proof.proof.map(encodeBase64), '');
  return `${lines.join('\n')}\n${proof.checkpoint}`;
}

/** Strict parser: header, optional `extra`, `index`, proof hashes, blank line, signed checkpoint. */
export function parseTlogProof(text: string): TlogProof {
  const lines = text.split('\n');
  let i = 0;
  const next = (): string | undefined => lines[i++];
  if (next() !== TLOG_PROOF_HEADER) parseFail('header', `first line must be ${TLOG_PROOF_HEADER}`);
  let line = next();
  let extra: Uint8Array | undefined;
  if (line?.startsWith('extra ')) {
    extra = decodeBase64(line.slice('extra '.length));
    if (extra === undefined) parseFail('extra', 'extra data is not canonical base64');
    line = next();
  }
  if (!line?.startsWith('index ')) parseFail('index', 'missing index line');
  const index = parseDecimal(line.slice('index '.length));
  if (index === undefined) parseFail('index', 'index is not a decimal without leading zeros');
  const proof: Uint8Array[] = [];
  for (line = next(); line !== undefined && line !== ''; line = next()) {
    const h = decodeBase64(line);
    if (h === undefined || h.length !== HASH_SIZE)
      parseFail('proof-hash', 'proof line is not base64 of 32 bytes');
    proof.push(h);
  }
  if (line === undefined) parseFail('truncated', 'missing blank line before the checkpoint');
  const checkpoint = lines.slice(i).join('\n');
  try {
    parseCheckpoint(parseSignedNote(checkpoint).text);
  } catch (e) {
    const reason = isCareLedgerError(e) ? e.details.reason : undefined;
    throw new CareLedgerError('ERR_LOG_PROOF_INVALID', 'embedded checkpoint is malformed', {
      cause: e,
      details: { step: 'parse', reason: 'checkpoint', checkpointReason: reason },
    });
  }
  return Object.freeze(
    extra === undefined ? { index, proof, checkpoint } : { extra, index, proof, checkpoint },
  );
}

export interface VerifyTlogProofOptions {
  /** The log's key; its name must equal the checkpoint origin unless `origin` says otherwise. */
  readonly logVerifier: NoteVerifier;
  readonly origin?: string;
  readonly witnessVerifiers?: readonly NoteVerifier[];
  /** k of the k-of-n witness policy (default 0). */
  readonly witnessThreshold?: number;
  /** The logged entry, known out of band; defaults to the proof's `extra` data. */
  readonly entry?: Uint8Array;
  /** Alternatively, the leaf hash itself. */
  readonly leafHash?: Uint8Array;
}

export interface VerifiedTlogProof {
  readonly checkpoint: Checkpoint;
  readonly index: number;
  readonly leafHash: Uint8Array;
  readonly witnesses: readonly VerifiedNoteSignature[];
}

function stepFail(
  step: TlogProofStep,
  e: unknown,
  message: string,
  extra: Record<string, unknown> = {},
): never {
  const inner = isCareLedgerError(e) ? { reason: e.details.reason ?? e.details.check } : {};
  throw new CareLedgerError('ERR_LOG_PROOF_INVALID', message, {
    cause: e,
    details: { step, ...inner, ...extra },
  });
}

function runStep<T>(step: TlogProofStep, message: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (isCareLedgerError(e) && e.details.step !== undefined) throw e;
    stepFail(step, e, message);
  }
}

/**
 * Verifies a tlog proof (c2sp.org/tlog-proof "Verifying a tlog proof"), in order: parse, the log's
 * signature on the checkpoint, k-of-n witness cosignatures, then the inclusion proof. Throws
 * `ERR_LOG_PROOF_INVALID` with `details.step` naming the first failing step.
 */
export function verifyTlogProof(
  input: TlogProof | string,
  options: VerifyTlogProofOptions,
): VerifiedTlogProof {
  const proof = runStep('parse', 'tlog proof is malformed', () =>
    typeof input === 'string' ? parseTlogProof(input) : input,
  );
  const { note, checkpoint } = runStep('parse', 'tlog proof checkpoint is malformed', () => {
    const n = parseSignedNote(proof.checkpoint);
    return { note: n, checkpoint: parseCheckpoint(n.text) };
  });

  runStep('log-signature', 'checkpoint is not signed by the log', () => {
    const origin = options.origin ?? options.logVerifier.name;
    if (checkpoint.origin !== origin) {
      throw new CareLedgerError('ERR_LOG_NOTE_INVALID', 'checkpoint origin is not the expected log', {
        details: { reason: 'origin-mismatch' },
      });
    }
    verifyNote(note, [options.logVerifier]);
  });

  const witnesses = runStep('cosignatures', 'not enough witness cosignatures', () => {
    const threshold = options.witnessThreshold ?? 0;
    const known = options.witnessVerifiers ?? [];
    if (!Number.isInteger(threshold) || threshold < 0 || threshold > known.length) {
      throw new CareLedgerError(
        'ERR_INVALID_INPUT',
        'witness threshold must be between 0 and the witness count',
        {
          details: { reason: 'threshold' },
        },
      );
    }
    return verifyNote(note, known, { minimum: threshold }).verified;
  });

  const leafHash = runStep('inclusion', 'entry is not included in the checkpoint', () => {
    const entry = options.entry ?? proof.extra;
    const leaf = options.leafHash ?? (entry === undefined ? undefined : hashLeaf(entry));
    if (leaf === undefined) {
      throw new CareLedgerError('ERR_INVALID_INPUT', 'no entry or leaf hash to check', {
        details: { reason: 'missing-entry' },
      });
    }
    verifyInclusionProof(leaf, proof.index, checkpoint.size, proof.proof, checkpoint.rootHash);
    return leaf;
  });

  return Object.freeze({ checkpoint, index: proof.index, leafHash, witnesses });
}
