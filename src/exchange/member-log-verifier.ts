import type { AuditEvent, Resource } from '@medplum/fhirtypes';
import { CareLedgerError, isCareLedgerError } from '../errors/index.js';
import { parseTlogProof, parseVerifierKey, verifyConsistencyProof, verifyTlogProof } from '../log/index.js';
import { verifyAuditEventCommitment } from '../vault/fhir-repository.js';
import { parseVersionProof, verifyVersionAgainstEntry } from '../vault/version-proof.js';

/** What the ledger says of a member's log: its origin, its key, and its latest anchored checkpoint. */
export interface MemberLog {
  readonly address: string;
  readonly name: string;
  readonly logOrigin: string;
  /** The log's note verifier key as the consortium admitted it (ConsortiumRegistry). */
  readonly logVerifierKey: string;
}

export interface Anchor {
  readonly treeSize: number;
  /** 0x-prefixed hex of the root hash. */
  readonly rootHash: string;
}

/** The outcome of checking one served record or AuditEvent against its member's anchored log. */
export type ProofStatus =
  | {
      readonly status: 'verified';
      readonly index: number;
      readonly checkpoint: { readonly origin: string; readonly size: number };
      readonly anchoredSize: number;
    }
  | { readonly status: 'failed'; readonly reason: string; readonly message: string };

/**
 * The closed list of failure reasons, so a portal or an auditor can switch on them.
 * - `no-version-proof` / `no-log-entry`: the member served no proof reference;
 * - `not-yet-checkpointed`: the entry is newer than the member's latest checkpoint (seconds old);
 * - `proof-unavailable`: the member would not serve a proof;
 * - `version-mismatch` / `commitment-mismatch`: the content is not what the log holds (altered);
 * - `origin-mismatch`: a proof for another log; `bad-signature`: not signed by the member's log key;
 * - `inclusion`: the entry is not in the checkpoint;
 * - `not-anchored`: the member has anchored nothing yet; `stale-checkpoint`: the proof's checkpoint is
 *   older than the one anchored on the ledger; `anchor-mismatch` / `inconsistent-with-anchor`: the
 *   checkpoint forks from the anchored one.
 */
export const PROOF_FAILURE_REASONS = [
  'no-version-proof',
  'no-log-entry',
  'proof-unavailable',
  'not-yet-checkpointed',
  'version-mismatch',
  'commitment-mismatch',
  'not-a-version-entry',
  'origin-mismatch',
  'bad-signature',
  'inclusion',
  'malformed-proof',
  'not-anchored',
  'stale-checkpoint',
  'anchor-mismatch',
  'inconsistent-with-anchor',
] as const;

export interface MemberLogVerifierOptions {
  readonly member: MemberLog;
  /** The member's latest anchor, from this node's index of the ledger. */
  readonly latestAnchor: () => Promise<Anchor | undefined>;
  /** GETs a path of the member's log (`/log/proof/12`, `/log/consistency?old=…`): text, or throws. */
  readonly fetchLog: (path: string) => Promise<string>;
  /** Many proofs in one request, if the member offers it (index → text, null = not checkpointed). */
  readonly fetchProofs?: (indices: readonly number[]) => Promise<Map<number, string | null> | undefined>;
}

function fail(reason: (typeof PROOF_FAILURE_REASONS)[number], message: string): never {
  throw new CareLedgerError('ERR_LOG_PROOF_INVALID', message, { details: { reason } });
}

function hexOf(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

/**
 * Checks what one member served against that member's log as the ledger knows it: the tlog-proof's
 * checkpoint must be signed by the member's admitted log key under its origin, must not be older than
 * the member's latest anchor and must extend it (consistency proof), and must include the entry the
 * served content recomputes to. Every failure is a value with a reason, never a silent pass.
 */
export class MemberLogVerifier {
  /** Checkpoint sizes already shown consistent with the anchor (one consistency proof per size). */
  private readonly consistent = new Map<number, string>();

  constructor(private readonly options: MemberLogVerifierOptions) {}

  /** A record version served with its version proof (see version-proof.ts). */
  async verifyVersion(served: Resource): Promise<ProofStatus> {
    return this.run(async () => {
      const { proof } = parseVersionProof(served);
      return this.verifyEntry(proof.index, (entry) => verifyVersionAgainstEntry(served, entry));
    });
  }

  /** An AuditEvent served with its log-entry extension (salted commitment). */
  async verifyAuditEvent(served: AuditEvent): Promise<ProofStatus> {
    return this.run(async () => {
      const ext = served.extension?.find((e) => e.url.endsWith('/log-entry'));
      const index = ext?.extension?.find((e) => e.url === 'index')?.valueInteger;
      if (typeof index !== 'number') fail('no-log-entry', 'the AuditEvent carries no log entry');
      return this.verifyEntry(index, (entry) => verifyAuditEventCommitment(served, entry));
    });
  }

  /** Proofs fetched by this verifier, by entry index (one request per entry, also for the patient's copy). */
  private readonly proofs = new Map<number, string>();

  /**
   * Fetches the proofs of many entries in one request where the member offers it; later checks of
   * those entries use them. Best effort: anything missing is fetched one by one as before.
   */
  async prefetch(indices: readonly number[]): Promise<void> {
    const wanted = indices.filter((i) => !this.proofs.has(i));
    if (wanted.length === 0 || this.options.fetchProofs === undefined) return;
    const fetched = await this.options.fetchProofs(wanted).catch(() => undefined);
    for (const [index, text] of fetched ?? []) if (text !== null) this.proofs.set(index, text);
  }

  /** The tlog-proof text for an entry, as the member serves it (for the patient to keep). */
  async proofText(index: number): Promise<string> {
    const known = this.proofs.get(index);
    if (known !== undefined) return known;
    try {
      const text = await this.options.fetchLog(`/log/proof/${index}`);
      this.proofs.set(index, text);
      return text;
    } catch (cause) {
      if (isCareLedgerError(cause) && cause.details.reason === 'not-yet-checkpointed') throw cause;
      throw new CareLedgerError('ERR_LOG_PROOF_INVALID', 'the member did not serve a proof for the entry', {
        cause,
        details: { reason: 'proof-unavailable' },
      });
    }
  }

  private async run(check: () => Promise<ProofStatus>): Promise<ProofStatus> {
    try {
      return await check();
    } catch (error) {
      if (isCareLedgerError(error) && error.code === 'ERR_LOG_PROOF_INVALID') {
        const step = error.details.step;
        const inner = String(error.details.reason ?? '');
        const reason =
          step === 'log-signature'
            ? inner === 'origin-mismatch'
              ? 'origin-mismatch'
              : 'bad-signature'
            : step === 'inclusion'
              ? 'inclusion'
              : step === 'parse'
                ? 'malformed-proof'
                : inner || 'malformed-proof';
        return { status: 'failed', reason, message: error.message };
      }
      throw error;
    }
  }

  private async verifyEntry(index: number, checkContent: (entry: Uint8Array) => void): Promise<ProofStatus> {
    const text = await this.proofText(index);
    const { member } = this.options;
    let parsed: ReturnType<typeof parseTlogProof>;
    try {
      parsed = parseTlogProof(text);
    } catch {
      fail('malformed-proof', 'the member served a malformed tlog-proof');
    }
    if (parsed.index !== index) fail('inclusion', 'the proof is for another entry');
    // The proof's extra data is the entry; verifyTlogProof proves its leaf hash is in the checkpoint.
    const entry = parsed.extra;
    if (entry === undefined) fail('malformed-proof', 'the proof carries no entry');
    const verified = verifyTlogProof(parsed, {
      logVerifier: parseVerifierKey(member.logVerifierKey),
      origin: member.logOrigin,
      entry,
    });
    checkContent(entry);
    const anchoredSize = await this.verifyAgainstAnchor(
      verified.checkpoint.size,
      verified.checkpoint.rootHash,
    );
    return {
      status: 'verified',
      index,
      checkpoint: { origin: verified.checkpoint.origin, size: verified.checkpoint.size },
      anchoredSize,
    };
  }

  /** The served checkpoint must extend the member's latest anchor on the ledger. */
  private async verifyAgainstAnchor(size: number, rootHash: Uint8Array): Promise<number> {
    const root = hexOf(rootHash);
    if (this.consistent.get(size) === root) return size;
    const anchor = await this.options.latestAnchor();
    if (anchor === undefined) fail('not-anchored', 'the member has anchored no checkpoint on the ledger yet');
    if (size < anchor.treeSize)
      fail(
        'stale-checkpoint',
        `the proof's checkpoint (size ${size}) is older than the anchored one (size ${anchor.treeSize})`,
      );
    if (size === anchor.treeSize) {
      if (root.toLowerCase() !== anchor.rootHash.toLowerCase())
        fail('anchor-mismatch', 'the checkpoint has the anchored size but another root: a fork');
    } else {
      let proof: Uint8Array[];
      try {
        const body = await this.options.fetchLog(`/log/consistency?old=${anchor.treeSize}&new=${size}`);
        proof = body
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => Buffer.from(l, 'base64'));
      } catch (cause) {
        throw new CareLedgerError('ERR_LOG_PROOF_INVALID', 'the member did not serve a consistency proof', {
          cause,
          details: { reason: 'proof-unavailable' },
        });
      }
      try {
        verifyConsistencyProof(
          anchor.treeSize,
          size,
          proof,
          Buffer.from(anchor.rootHash.replace(/^0x/, ''), 'hex'),
          rootHash,
        );
      } catch {
        fail('inconsistent-with-anchor', 'the checkpoint does not extend the anchored one: a fork');
      }
    }
    this.consistent.set(size, root);
    return anchor.treeSize;
  }
}
