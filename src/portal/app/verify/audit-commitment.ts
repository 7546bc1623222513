/**
 * The salted commitment of an AuditEvent in the node's log, recomputed in the browser (the Node
 * side is `formatAuditEntry` / `verifyAuditEventCommitment` in src/vault/fhir-repository.ts):
 * entry = {"t":"audit","c":hex(SHA-256(salt ‖ canonical JSON of the AuditEvent without the log-entry
 * extension))}.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { canonicalJson } from '../../../fhir/canonical-json.js';
import { concatBytes, decodeBase64, toHex, utf8 } from './bytes.js';
import { ProofVerificationError } from './verify-tlog-proof.js';

export const LOG_ENTRY_EXTENSION = 'https://careledger.dev/fhir/StructureDefinition/log-entry';

interface Extension {
  url?: string;
  extension?: Extension[];
  valueInteger?: number;
  valueUrl?: string;
  valueBase64Binary?: string;
}

export interface LogEntryReference {
  readonly index: number;
  readonly proofPath: string;
  readonly salt: Uint8Array;
}

/** Where a served AuditEvent's commitment is in the log, or undefined if it carries none. */
export function readLogEntry(auditEvent: { extension?: Extension[] }): LogEntryReference | undefined {
  const ext = auditEvent.extension?.find((e) => e.url === LOG_ENTRY_EXTENSION);
  const value = (name: string) => ext?.extension?.find((e) => e.url === name);
  const index = value('index')?.valueInteger;
  const salt = value('salt')?.valueBase64Binary;
  const decoded = salt === undefined ? undefined : decodeBase64(salt);
  if (typeof index !== 'number' || decoded === undefined) return undefined;
  return { index, proofPath: value('proof')?.valueUrl ?? `/log/proof/${index}`, salt: decoded };
}

/** The log entry bytes the served AuditEvent must match. */
export function createAuditEntry(
  auditEvent: Record<string, unknown> & { extension?: Extension[] },
): Uint8Array {
  const reference = readLogEntry(auditEvent);
  if (reference === undefined) {
    throw new ProofVerificationError('commitment', 'no-log-entry', 'the AuditEvent carries no log entry');
  }
  const rest = (auditEvent.extension ?? []).filter((e) => e.url !== LOG_ENTRY_EXTENSION);
  const { extension: _drop, ...withoutExtensions } = auditEvent;
  const original = rest.length === 0 ? withoutExtensions : { ...withoutExtensions, extension: rest };
  const digest = sha256(concatBytes(reference.salt, utf8.encode(canonicalJson(original))));
  return utf8.encode(JSON.stringify({ t: 'audit', c: toHex(digest) }));
}
