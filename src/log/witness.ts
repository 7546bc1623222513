import { CareLedgerError, isCareLedgerError } from '../errors/index.js';
import { decodeBase64, encodeBase64, parseDecimal } from './base64.js';
import { type Checkpoint, parseCheckpoint } from './checkpoint.js';
import { type Clock, systemClock } from './log-clock.js';
import type { StoredCheckpoint, WitnessStateStorage } from './log-storage.js';
import { bytesEqual, emptyRoot, HASH_SIZE } from './merkle-hash.js';
import {
  createNoteSignature,
  formatSignedNote,
  MAX_NOTE_SIGNATURES,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  parseSignedNote,
  parseSignerKey,
  parseVerifierKey,
  type SignedNote,
  verifierOf,
  verifyNote,
} from './signed-note.js';
import { verifyConsistencyProof } from './verify-proof.js';

/**
 * C2SP tlog-witness (https://c2sp.org/tlog-witness), both halves: the witness's `add-checkpoint`
 * handler as a function returning `{ status, contentType, body }` (HTTP is a thin shell around it), and
 * the log's client that asks witnesses to cosign and keeps a k-of-n cosigned checkpoint.
 */

export const TLOG_SIZE_CONTENT_TYPE = 'text/x.tlog.size';
const TEXT = 'text/plain; charset=utf-8';
/** As the Go witness: a request body larger than this is refused. */
export const MAX_ADD_CHECKPOINT_BODY = 16 * 1024;
/** A consistency proof of a tree of at most 2^63 leaves has at most 63 hashes. */
const MAX_PROOF_LINES = 63;

export interface WitnessResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** A log this witness cosigns: its origin and the key(s) it signs checkpoints with. */
export interface TrustedLog {
  readonly origin: string;
  readonly verifierKeys: readonly (string | NoteVerifier)[];
}

export interface WitnessOptions {
  /** The witness's cosignature/v1 key (`PRIVATE+KEY+<name>+<id>+<base64(0x04 || seed)>`) or signer. */
  readonly signerKey: string | NoteSigner;
  readonly logs: readonly TrustedLog[];
  readonly storage: WitnessStateStorage;
  readonly clock?: Clock;
}

const respond = (status: number, body: string, contentType = TEXT): WitnessResponse => ({
  status,
  contentType,
  body,
});

class Refusal extends Error {
  constructor(readonly response: WitnessResponse) {
    super(response.body);
  }
}

function refuse(status: number, message: string): never {
  throw new Refusal(respond(status, `${message}\n`));
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

interface AddCheckpointRequest {
  readonly oldSize: number;
  readonly proof: readonly Uint8Array[];
  readonly note: SignedNote;
  readonly noteText: string;
  readonly checkpoint: Checkpoint;
}

// c2sp.org/tlog-witness "add-checkpoint": an `old <size>` line, zero or more base64 consistency proof
// lines, an empty line, then the signed checkpoint.
function parseAddCheckpointRequest(input: string | Uint8Array): AddCheckpointRequest {
  let body: string;
  if (typeof input === 'string') body = input;
  else {
    if (input.length > MAX_ADD_CHECKPOINT_BODY) refuse(400, 'request body too large');
    try {
      body = utf8.decode(input);
    } catch {
      refuse(400, 'request body is not UTF-8');
    }
  }
  if (body.length > MAX_ADD_CHECKPOINT_BODY) refuse(400, 'request body too large');
  const split = body.indexOf('\n\n');
  if (split < 0) refuse(400, 'missing empty line before the checkpoint');
  const [oldLine = '', ...proofLines] = body.slice(0, split).split('\n');
  const oldSize = oldLine.startsWith('old ') ? parseDecimal(oldLine.slice(4)) : undefined;
  if (oldSize === undefined) refuse(400, 'first line must be "old <size>"');
  if (proofLines.length > MAX_PROOF_LINES) refuse(400, 'too many consistency proof lines');
  const proof = proofLines.map((line) => {
    const h = decodeBase64(line);
    if (h === undefined || h.length !== HASH_SIZE) refuse(400, 'proof line is not base64 of 32 bytes');
    return h;
  });
  const noteText = body.slice(split + 2);
  let note: SignedNote;
  let checkpoint: Checkpoint;
  try {
    note = parseSignedNote(noteText);
    checkpoint = parseCheckpoint(note.text);
  } catch {
    refuse(400, 'malformed checkpoint');
  }
  return { oldSize, proof, note, noteText, checkpoint };
}

function toVerifier(key: string | NoteVerifier): NoteVerifier {
  return typeof key === 'string' ? parseVerifierKey(key) : key;
}

/** A C2SP tlog witness: cosigns checkpoints of trusted logs that are consistent with what it saw. */
export class Witness {
  readonly #signer: NoteSigner;
  readonly #logs: Map<string, NoteVerifier[]>;
  readonly #storage: WitnessStateStorage;
  readonly #clock: Clock;

  constructor(options: WitnessOptions) {
    this.#signer =
      typeof options.signerKey === 'string' ? parseSignerKey(options.signerKey) : options.signerKey;
    if (this.#signer.type !== 'cosignature/v1') {
      throw new CareLedgerError('ERR_CONFIG', 'a witness needs a cosignature/v1 key', {
        details: { reason: 'key-type' },
      });
    }
    this.#logs = new Map(options.logs.map((l) => [l.origin, l.verifierKeys.map(toVerifier)]));
    this.#storage = options.storage;
    this.#clock = options.clock ?? systemClock;
  }

  get name(): string {
    return this.#signer.name;
  }

  /** The witness's public key, as logs and verifiers configure it. */
  get verifier(): NoteVerifier {
    return verifierOf(this.#signer);
  }

  /**
   * Handles an add-checkpoint request body. Statuses (c2sp.org/tlog-witness v1): 400 malformed or old
   * size beyond the checkpoint; 404 unknown origin; 403 no trusted signature (or a bad one); 409 with
   * `text/x.tlog.size` when `old` is not the size last cosigned; 409 (text/plain) for a different root
   * at the size last cosigned; 422 for a consistency proof that does not verify; 200 with the
   * cosignature line otherwise.
   */
  async addCheckpoint(body: string | Uint8Array): Promise<WitnessResponse> {
    try {
      return await this.#addCheckpoint(body);
    } catch (error) {
      if (error instanceof Refusal) return error.response;
      return respond(500, 'internal error\n');
    }
  }

  async #addCheckpoint(body: string | Uint8Array): Promise<WitnessResponse> {
    const request = parseAddCheckpointRequest(body);
    const { checkpoint, oldSize, proof } = request;
    const verifiers = this.#logs.get(checkpoint.origin);
    if (verifiers === undefined) refuse(404, 'unknown log origin');
    try {
      verifyNote(request.note, verifiers);
    } catch {
      refuse(403, 'checkpoint is not signed by a trusted key of this log');
    }
    if (oldSize > checkpoint.size) refuse(400, 'old size is larger than the checkpoint size');
    const state = await this.#storage.loadWitnessState(checkpoint.origin);
    const recordedSize = state?.size ?? 0;
    if (oldSize !== recordedSize) return respond(409, `${recordedSize}\n`, TLOG_SIZE_CONTENT_TYPE);
    if (checkpoint.size === 0 && !bytesEqual(checkpoint.rootHash, emptyRoot()))
      refuse(422, 'an empty tree must have the empty root');
    if (oldSize === checkpoint.size) {
      if (proof.length > 0) refuse(422, 'consistency proof must be empty for equal sizes');
      if (state !== undefined && !bytesEqual(state.rootHash, checkpoint.rootHash))
        refuse(409, 'checkpoint has a different root at the size last cosigned');
    } else if (oldSize === 0) {
      if (proof.length > 0) refuse(422, 'consistency proof must be empty from the empty tree');
    } else {
      try {
        verifyConsistencyProof(
          oldSize,
          checkpoint.size,
          proof,
          state?.rootHash ?? emptyRoot(),
          checkpoint.rootHash,
        );
      } catch {
        refuse(422, 'consistency proof does not verify');
      }
    }
    // Persist before answering, atomically with the size check: a concurrent request that moved the
    // state first turns this one into a 409.
    const saved = await this.#storage.saveWitnessState(
      {
        origin: checkpoint.origin,
        size: checkpoint.size,
        rootHash: checkpoint.rootHash,
        checkpoint: request.noteText,
        time: this.#clock.now(),
      },
      recordedSize,
    );
    if (!saved) {
      const now = await this.#storage.loadWitnessState(checkpoint.origin);
      return respond(409, `${now?.size ?? 0}\n`, TLOG_SIZE_CONTENT_TYPE);
    }
    // c2sp.org/tlog-cosignature: the timestamp is in seconds.
    const signature = createNoteSignature(request.note.text, this.#signer, {
      timestamp: Math.floor(this.#clock.now() / 1000),
    });
    return respond(200, formatSignatureLine(signature));
  }
}

function formatSignatureLine(signature: NoteSignature): string {
  return `\u2014 ${signature.name} ${encodeBase64(Buffer.concat([signature.keyId, signature.signature]))}\n`;
}

/** Builds an add-checkpoint request body (c2sp.org/tlog-witness). */
export function formatAddCheckpointRequest(
  oldSize: number,
  proof: readonly Uint8Array[],
  signedCheckpoint: string,
): string {
  return `old ${oldSize}\n${proof.map((h) => `${encodeBase64(h)}\n`).join('')}\n${signedCheckpoint}`;
}

// ---------------------------------------------------------------------------------------------------
// Client side: the log asks witnesses to cosign.

/** `fetch`, or anything that looks like it (e.g. a Hono app's `request` in tests). */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal?: AbortSignal },
) => Promise<Response>;

/** What the client needs from the log: consistency proofs from its storage. */
export interface ConsistencyProver {
  createConsistencyProof(oldSize: number, newSize: number): Promise<Uint8Array[]>;
}

export interface RequestCosignatureOptions {
  /** The signed checkpoint note to cosign. */
  readonly checkpoint: string;
  /** What this witness last cosigned of our log, as far as we know (0 if never). */
  readonly oldSize: number;
  readonly witness: NoteVerifier;
  readonly log: ConsistencyProver;
  readonly fetch?: FetchLike;
  readonly signal?: AbortSignal;
}

export interface CosignatureResult {
  /** The witness's verified cosignature on the checkpoint. */
  readonly signature: NoteSignature;
  readonly timestamp: number;
  /** The checkpoint size the witness now holds. */
  readonly size: number;
}

function clientError(
  code: 'ERR_LOG_UNAVAILABLE' | 'ERR_LOG_EQUIVOCATION' | 'ERR_LOG_CHECKPOINT_INVALID',
  reason: string,
  message: string,
  details: Record<string, unknown> = {},
  cause?: unknown,
): CareLedgerError {
  return new CareLedgerError(code, message, { cause, details: { reason, ...details } });
}

function parseSizeResponse(body: string): number | undefined {
  return body.endsWith('\n') ? parseDecimal(body.slice(0, -1)) : undefined;
}

/**
 * Asks one witness to cosign `checkpoint` (c2sp.org/tlog-witness "add-checkpoint"). On a 409 with the
 * witness's size, retries once from that size. Verifies the returned cosignature before returning it.
 */
export async function requestCosignature(
  witnessUrl: string,
  options: RequestCosignatureOptions,
): Promise<CosignatureResult> {
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const note = parseSignedNote(options.checkpoint);
  const checkpoint = parseCheckpoint(note.text);
  const url = `${witnessUrl.replace(/\/+$/, '')}/add-checkpoint`;
  let oldSize = Math.min(options.oldSize, checkpoint.size);
  for (let attempt = 0; ; attempt++) {
    const proof =
      oldSize === 0 || oldSize === checkpoint.size
        ? []
        : await options.log.createConsistencyProof(oldSize, checkpoint.size);
    let response: Response;
    let text: string;
    try {
      response = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: formatAddCheckpointRequest(oldSize, proof, options.checkpoint),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      text = await response.text();
    } catch (cause) {
      throw clientError('ERR_LOG_UNAVAILABLE', 'witness-unreachable', 'witness did not answer', {}, cause);
    }
    const contentType = response.headers.get('content-type') ?? '';
    if (response.status === 409 && contentType === TLOG_SIZE_CONTENT_TYPE) {
      const witnessSize = parseSizeResponse(text);
      if (witnessSize === undefined)
        throw clientError('ERR_LOG_UNAVAILABLE', 'witness-response', 'witness sent a malformed size');
      if (witnessSize > checkpoint.size) {
        throw clientError(
          'ERR_LOG_EQUIVOCATION',
          'witness-ahead',
          'witness cosigned a larger tree than ours',
          {
            witnessSize,
            size: checkpoint.size,
          },
        );
      }
      if (attempt > 0)
        throw clientError('ERR_LOG_UNAVAILABLE', 'witness-conflict', 'witness size keeps changing');
      oldSize = witnessSize;
      continue;
    }
    if (response.status === 409)
      throw clientError(
        'ERR_LOG_EQUIVOCATION',
        'witness-root-mismatch',
        'witness holds another root at this size',
      );
    if (response.status !== 200) {
      throw clientError(
        response.status >= 500 ? 'ERR_LOG_UNAVAILABLE' : 'ERR_LOG_CHECKPOINT_INVALID',
        'witness-refused',
        'witness refused the checkpoint',
        { status: response.status },
      );
    }
    let signatures: readonly NoteSignature[];
    try {
      // The body is one or more note signature lines; parse them as the signature block of a note.
      signatures = parseSignedNote(`${note.text}\n${text}`).signatures;
    } catch (cause) {
      throw clientError(
        'ERR_LOG_UNAVAILABLE',
        'witness-response',
        'witness sent malformed cosignatures',
        {},
        cause,
      );
    }
    for (const signature of signatures) {
      try {
        const [verified] = verifyNote({ text: note.text, signatures: [signature] }, [
          options.witness,
        ]).verified;
        return { signature, timestamp: verified?.timestamp ?? 0, size: checkpoint.size };
      } catch (cause) {
        if (!isCareLedgerError(cause) || cause.details.reason !== 'insufficient-signatures') {
          throw clientError(
            'ERR_LOG_UNAVAILABLE',
            'witness-signature',
            'witness cosignature does not verify',
            {},
            cause,
          );
        }
      }
    }
    throw clientError('ERR_LOG_UNAVAILABLE', 'witness-signature', 'witness sent no cosignature with its key');
  }
}

export interface WitnessPolicyEntry {
  readonly name: string;
  readonly url: string;
  /** The witness's cosignature/v1 verifier key. */
  readonly vkey: string | NoteVerifier;
}

export interface CosignaturePolicy {
  /** k: cosignatures needed before a checkpoint counts as cosigned. */
  readonly threshold: number;
  readonly witnesses: readonly WitnessPolicyEntry[];
}

/** What the collector needs from the log. */
export interface CosignableLog extends ConsistencyProver {
  latestCheckpointRecord(): StoredCheckpoint | undefined;
  attachCosignatures(cosignedNote: string): Promise<StoredCheckpoint>;
}

export interface CollectResult {
  /** The checkpoint note, with cosignatures if at least k were gathered. */
  readonly checkpoint: string;
  readonly cosigned: boolean;
  /** Names of the witnesses whose cosignatures are in `checkpoint`. */
  readonly witnesses: readonly string[];
  readonly failures: readonly { readonly name: string; readonly error: unknown }[];
}

/**
 * Asks every configured witness in parallel to cosign a checkpoint, and once k of n have, attaches their
 * cosignatures to it in the log (which then serves the cosigned note).
 */
export class CosignatureCollector {
  readonly #log: CosignableLog;
  readonly #threshold: number;
  readonly #witnesses: { name: string; url: string; verifier: NoteVerifier }[];
  readonly #fetch: FetchLike | undefined;
  readonly #timeoutMs: number;
  /** Per witness, the size it last cosigned for us; starts at 0 and is corrected by its 409 answers. */
  readonly #sizes = new Map<string, number>();

  constructor(options: {
    log: CosignableLog;
    policy: CosignaturePolicy;
    fetch?: FetchLike;
    /** Per-request timeout (default 10 s). */
    timeoutMs?: number;
  }) {
    const { threshold, witnesses } = options.policy;
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > witnesses.length) {
      throw new CareLedgerError('ERR_CONFIG', 'witness threshold must be between 1 and the witness count', {
        details: { reason: 'threshold' },
      });
    }
    if (witnesses.length >= MAX_NOTE_SIGNATURES) {
      throw new CareLedgerError('ERR_CONFIG', 'too many witnesses for one signed note', {
        details: { reason: 'witness-count' },
      });
    }
    this.#log = options.log;
    this.#threshold = threshold;
    this.#witnesses = witnesses.map((w) => ({ name: w.name, url: w.url, verifier: toVerifier(w.vkey) }));
    this.#fetch = options.fetch;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Collects cosignatures for `checkpoint` (default: the log's latest signed checkpoint). */
  async collect(checkpoint?: StoredCheckpoint): Promise<CollectResult> {
    const record = checkpoint ?? this.#log.latestCheckpointRecord();
    if (record === undefined) {
      throw new CareLedgerError('ERR_NOT_FOUND', 'the log has no checkpoint yet', {
        details: { reason: 'no-checkpoint' },
      });
    }
    const gathered = new Map<string, NoteSignature>();
    const failures: { name: string; error: unknown }[] = [];
    await new Promise<void>((resolve) => {
      let pending = this.#witnesses.length;
      for (const w of this.#witnesses) {
        void requestCosignature(w.url, {
          checkpoint: record.note,
          oldSize: this.#sizes.get(w.name) ?? 0,
          witness: w.verifier,
          log: this.#log,
          signal: AbortSignal.timeout(this.#timeoutMs),
          ...(this.#fetch === undefined ? {} : { fetch: this.#fetch }),
        })
          .then(
            (result) => {
              this.#sizes.set(w.name, Math.max(this.#sizes.get(w.name) ?? 0, result.size));
              gathered.set(w.name, result.signature);
              if (gathered.size >= this.#threshold) resolve();
            },
            (error: unknown) => {
              failures.push({ name: w.name, error });
            },
          )
          .finally(() => {
            pending -= 1;
            if (pending === 0) resolve();
          });
      }
    });
    const names = [...gathered.keys()];
    if (names.length < this.#threshold) {
      return { checkpoint: record.cosignedNote ?? record.note, cosigned: false, witnesses: [], failures };
    }
    const base = parseSignedNote(record.note);
    const cosignedNote = formatSignedNote({
      text: base.text,
      signatures: [...base.signatures, ...names.map((n) => gathered.get(n) as NoteSignature)],
    });
    await this.#log.attachCosignatures(cosignedNote);
    return { checkpoint: cosignedNote, cosigned: true, witnesses: names, failures: [...failures] };
  }
}
