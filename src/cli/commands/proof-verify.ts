import { readFileSync } from 'node:fs';
import type { Resource } from '@medplum/fhirtypes';
import { CareLedgerError, isCareLedgerError } from '../../errors/index.js';
import {
  type NoteVerifier,
  parseCheckpoint,
  parseSignedNote,
  parseTlogProof,
  parseVerifierKey,
  type TlogProof,
  type TlogProofStep,
  verifyNote,
  verifyTlogProof,
} from '../../log/index.js';
import { auditEntryOf } from '../../vault/fhir-repository.js';
import { versionEntryOf } from '../../vault/version-proof.js';

/**
 * Offline verification of a C2SP tlog-proof (https://c2sp.org/tlog-proof) against a trust policy.
 *
 * Policy file: one directive per line; `#` starts a comment; blank lines are ignored.
 *
 *   log <vkey>       the log's signed-note verifier key (`<name>+<id>+<base64>`, type ed25519); one or
 *                    more (e.g. during a key rotation). The key name must be the checkpoint origin
 *                    (c2sp.org/tlog-checkpoint recommends it), which selects the keys to try.
 *   witness <vkey>   a witness's cosigner key (type cosignature/v1, c2sp.org/tlog-cosignature); zero or more.
 *   quorum <k>       how many of the witnesses must have cosigned; default 0 without witness lines,
 *                    otherwise all of them.
 */
export const POLICY_HELP = `Policy file (one directive per line, # starts a comment):
  log <vkey>       the log's verifier key, <name>+<id>+<base64> (one or more; name = checkpoint origin)
  witness <vkey>   a witness's cosignature/v1 verifier key (zero or more)
  quorum <k>       witness cosignatures needed (default: 0 without witnesses, else all of them)`;

export interface ProofPolicy {
  readonly logVerifiers: readonly NoteVerifier[];
  readonly witnessVerifiers: readonly NoteVerifier[];
  readonly quorum: number;
}

function policyError(line: number | undefined, message: string): never {
  throw new CareLedgerError('ERR_CONFIG', `policy${line === undefined ? '' : ` line ${line}`}: ${message}`, {
    details: { reason: 'policy', ...(line === undefined ? {} : { line }) },
  });
}

function parsePolicyKey(text: string, line: number, type: NoteVerifier['type']): NoteVerifier {
  let verifier: NoteVerifier;
  try {
    verifier = parseVerifierKey(text);
  } catch (e) {
    policyError(line, `not a verifier key (${isCareLedgerError(e) ? String(e.details.reason) : 'invalid'})`);
  }
  if (verifier.type !== type) policyError(line, `expected a key of type ${type}, got ${verifier.type}`);
  return verifier;
}

const keyId = (v: NoteVerifier): string => `${v.name}+${Buffer.from(v.keyId).toString('hex')}`;

/** Parses a policy file (format above); throws ERR_CONFIG naming the offending line. */
export function parseProofPolicy(text: string): ProofPolicy {
  const logVerifiers: NoteVerifier[] = [];
  const witnessVerifiers: NoteVerifier[] = [];
  let quorum: number | undefined;
  const seen = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const hash = raw.indexOf('#');
    const content = (hash < 0 ? raw : raw.slice(0, hash)).trim();
    if (content === '') return;
    const [directive = '', ...args] = content.split(/\s+/);
    // The directive first: a file that is not a policy at all says so, not "takes one argument".
    if (directive !== 'log' && directive !== 'witness' && directive !== 'quorum') {
      policyError(
        line,
        `unknown directive ${JSON.stringify(directive.slice(0, 24))} (expected log, witness or quorum; \`careledger proof policy <node-url>\` writes a policy file)`,
      );
    }
    if (args.length !== 1) policyError(line, `${directive} takes exactly one argument`);
    const arg = args[0] as string;
    if (directive === 'log' || directive === 'witness') {
      const verifier = parsePolicyKey(arg, line, directive === 'log' ? 'ed25519' : 'cosignature/v1');
      if (seen.has(keyId(verifier))) policyError(line, `key ${keyId(verifier)} is listed twice`);
      seen.add(keyId(verifier));
      (directive === 'log' ? logVerifiers : witnessVerifiers).push(verifier);
    } else if (directive === 'quorum') {
      if (quorum !== undefined) policyError(line, 'quorum is given twice');
      if (!/^(0|[1-9][0-9]{0,5})$/.test(arg)) policyError(line, 'quorum must be a non-negative integer');
      quorum = Number(arg);
    }
  });
  if (logVerifiers.length === 0) policyError(undefined, 'names no log key');
  const k = quorum ?? witnessVerifiers.length;
  if (k > witnessVerifiers.length)
    policyError(undefined, `quorum ${k} is more than the ${witnessVerifiers.length} witnesses listed`);
  return Object.freeze({ logVerifiers, witnessVerifiers, quorum: k });
}

export interface ProofVerifyReport {
  readonly ok: boolean;
  readonly step?: TlogProofStep;
  readonly reason?: string;
  readonly origin?: string;
  readonly index?: number;
  readonly size?: number;
  /** The log key that signed the checkpoint. */
  readonly signedBy?: string;
  readonly witnesses: {
    readonly quorum: number;
    readonly total: number;
    /** Names of the policy's witnesses whose cosignatures verified. */
    readonly cosigned: readonly string[];
  };
}

const decoder = new TextDecoder('utf-8', { fatal: true });

// A human reason for the failing step, from the error and the verifier's inner error.
function reasonOf(error: CareLedgerError, policy: ProofPolicy, cosigned: readonly string[]): string {
  const step = error.details.step;
  const cause = isCareLedgerError(error.cause) ? error.cause : undefined;
  const inner = cause?.details.reason ?? cause?.details.check ?? error.details.reason;
  if (step === 'cosignatures' && inner === 'insufficient-signatures') {
    return `${cosigned.length} of ${policy.witnessVerifiers.length} witnesses cosigned, the policy needs ${policy.quorum}`;
  }
  if (step === 'cosignatures' && inner === 'signature-invalid')
    return 'a cosignature by a policy witness does not verify';
  if (step === 'log-signature' && inner === 'origin-mismatch')
    return 'no log key in the policy is named after the checkpoint origin';
  if (step === 'log-signature' && inner === 'insufficient-signatures')
    return 'the checkpoint is not signed by a log key of the policy';
  if (step === 'log-signature' && inner === 'signature-invalid')
    return 'the log signature on the checkpoint does not verify';
  if (step === 'inclusion' && inner === 'missing-entry')
    return 'the proof carries no entry (extra) and no --entry file was given';
  if (step === 'inclusion') return `the entry is not included in the checkpoint (${String(inner)})`;
  const detail = cause?.details.checkpointReason ?? inner;
  return detail === undefined ? error.message : `${error.message} (${String(detail)})`;
}

// Which policy witnesses cosigned, for the report; a bad cosignature means none are trusted.
function cosignersOf(checkpointNote: string, witnesses: readonly NoteVerifier[]): string[] {
  try {
    return verifyNote(checkpointNote, witnesses, { minimum: 0 }).verified.map((v) => v.verifier.name);
  } catch {
    return [];
  }
}

/**
 * Verifies a tlog proof against a policy and returns the outcome as a value (never throws for a bad
 * proof): the steps parse, log-signature, cosignatures (k of n), inclusion, in that order.
 * `entry`, when given, is checked instead of the proof's unauthenticated `extra` data.
 */
export function evaluateTlogProof(
  proofText: string | Uint8Array,
  policy: ProofPolicy,
  entry?: Uint8Array,
): ProofVerifyReport {
  const witnesses = { quorum: policy.quorum, total: policy.witnessVerifiers.length, cosigned: [] };
  let proof: TlogProof;
  let origin: string;
  let size: number;
  try {
    proof = parseTlogProof(typeof proofText === 'string' ? proofText : decoder.decode(proofText));
    ({ origin, size } = parseCheckpoint(parseSignedNote(proof.checkpoint).text));
  } catch (e) {
    const error = isCareLedgerError(e)
      ? e
      : new CareLedgerError('ERR_LOG_PROOF_INVALID', 'tlog proof is not UTF-8', {
          details: { step: 'parse', reason: 'not-utf8' },
        });
    return { ok: false, step: 'parse', reason: reasonOf(error, policy, []), witnesses };
  }
  const base = { origin, index: proof.index, size };
  const cosigned = cosignersOf(proof.checkpoint, policy.witnessVerifiers);
  const candidates = policy.logVerifiers.filter((v) => v.name === origin);
  if (candidates.length === 0) {
    return {
      ok: false,
      step: 'log-signature',
      reason: `the policy has no log key for origin ${origin}`,
      ...base,
      witnesses: { ...witnesses, cosigned },
    };
  }
  let failure: CareLedgerError | undefined;
  for (const logVerifier of candidates) {
    try {
      const verified = verifyTlogProof(proof, {
        logVerifier,
        witnessVerifiers: policy.witnessVerifiers,
        witnessThreshold: policy.quorum,
        ...(entry === undefined ? {} : { entry }),
      });
      return {
        ok: true,
        ...base,
        signedBy: keyId(logVerifier),
        witnesses: { ...witnesses, cosigned: verified.witnesses.map((w) => w.verifier.name) },
      };
    } catch (e) {
      if (!isCareLedgerError(e) || e.details.step === undefined) throw e;
      failure = e;
      // Another key of the same name (a rotation) may have signed; any later step is final.
      if (e.details.step !== 'log-signature') break;
    }
  }
  const error = failure as CareLedgerError;
  return {
    ok: false,
    step: error.details.step as TlogProofStep,
    reason: reasonOf(error, policy, cosigned),
    ...base,
    witnesses: { ...witnesses, cosigned },
  };
}

/** `OK: entry 5 is in <origin> at size 13 (signed by <key>, cosigned by 2 of 3: w1, w2)` or `FAILED at …`. */
export function formatProofVerifyReport(report: ProofVerifyReport): string {
  if (!report.ok) return `FAILED at step ${report.step}: ${report.reason}`;
  const { cosigned, total } = report.witnesses;
  const names = cosigned.length > 0 ? `: ${cosigned.join(', ')}` : '';
  return `OK: entry ${report.index} is in ${report.origin} at size ${report.size} (signed by ${report.signedBy}, cosigned by ${cosigned.length} of ${total}${names})`;
}

function readInput(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (cause) {
    throw new CareLedgerError('ERR_NOT_FOUND', `cannot read the ${what} file ${path}`, { cause });
  }
}

export interface ProofVerifyOptions {
  readonly proofFile: string;
  readonly policyFile: string;
  readonly entryFile?: string;
  /**
   * A record as a member served it (an AuditEvent with its log-entry extension, or a record version
   * with its version proof): the entry is recomputed from its content, so the proof is checked
   * against what the reader actually holds, not the proof's own extra data.
   */
  readonly recordFile?: string;
  readonly json?: boolean;
}

/** The log entry a served record commits to (see version-proof.ts and withLogEntry). */
export function entryOfServedRecord(json: string): Uint8Array {
  let resource: Resource;
  try {
    resource = JSON.parse(json) as Resource;
  } catch (cause) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'the record file is not JSON', { cause });
  }
  return resource.resourceType === 'AuditEvent' ? auditEntryOf(resource) : versionEntryOf(resource);
}

export interface CommandOutput {
  write(text: string): unknown;
}

/**
 * `careledger proof verify`: prints the outcome on `stdout` and returns the report when the proof
 * verifies; otherwise prints (JSON only) and throws ERR_LOG_PROOF_INVALID whose message is the
 * `FAILED at step …` line, so the CLI exits 65.
 */
export function runProofVerify(
  options: ProofVerifyOptions,
  stdout: CommandOutput = process.stdout,
): ProofVerifyReport {
  const policy = parseProofPolicy(readInput(options.policyFile, 'policy').toString('utf8'));
  const proofBytes = readInput(options.proofFile, 'proof');
  const entry =
    options.recordFile !== undefined
      ? entryOfServedRecord(readInput(options.recordFile, 'record').toString('utf8'))
      : options.entryFile === undefined
        ? undefined
        : new Uint8Array(readInput(options.entryFile, 'entry'));
  const report = evaluateTlogProof(new Uint8Array(proofBytes), policy, entry);
  if (options.json === true) stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (report.ok) stdout.write(`${formatProofVerifyReport(report)}\n`);
  if (!report.ok) {
    throw new CareLedgerError('ERR_LOG_PROOF_INVALID', formatProofVerifyReport(report), {
      details: { step: report.step, reason: report.reason },
    });
  }
  return report;
}
