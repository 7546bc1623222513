/**
 * How an AuditEvent is committed to the public transparency log (a salted hash, so tiles reveal
 * nothing of who read whose record) and how a served AuditEvent is checked against its entry.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent, Resource } from '@medplum/fhirtypes';
import { CareLedgerError } from '../errors/index.js';
import { canonicalJson } from '../fhir/canonical-json.js';
import type { StoredVersion } from './record-storage.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The log entry for an AuditEvent: a salted commitment. Tiles are public (mirrors, auditors), so the
 * entry must not reveal who read whose record; the patient, given the AuditEvent and the salt, can
 * recompute it and check the inclusion proof.
 */
export function formatAuditEntry(
  auditEvent: AuditEvent,
  salt: Uint8Array,
  /** `canonicalJson(auditEvent)`, when the caller has it already (it sealed that text). */
  canonical: string = canonicalJson(auditEvent),
): Uint8Array {
  return formatAuditCommitment(salt, canonical);
}

/**
 * The log entry of an AuditEvent from its canonical JSON (the text, or its UTF-8 when the caller has
 * encoded it already): {"t":"audit","c":hex(SHA-256(salt ‖ JSON))}.
 */
export function formatAuditCommitment(salt: Uint8Array, canonical: string | Uint8Array): Uint8Array {
  const digest = createHash('sha256').update(salt).update(canonical).digest('hex');
  // JSON.stringify({ t: 'audit', c: digest }) written out: a hex digest needs no escaping.
  return encoder.encode(`{"t":"audit","c":"${digest}"}`);
}

/** The extension CareLedger adds to an AuditEvent it serves: where its commitment is in the log. */
export const LOG_ENTRY_EXTENSION = 'https://careledger.dev/fhir/StructureDefinition/log-entry';

/**
 * An AuditEvent as served: with its log index, the path of its tlog-proof and the commitment's salt,
 * in the LOG_ENTRY_EXTENSION extension. Verifying it: remove that extension, take the canonical JSON,
 * SHA-256(salt ‖ JSON) must be the `c` of the log entry at that index, and the tlog-proof must verify
 * (see `verifyAuditEventCommitment`). Other resources are returned as they are.
 */
export function withLogEntry(resource: Resource, version: StoredVersion | undefined): Resource {
  if (resource.resourceType !== 'AuditEvent' || version === undefined || version.commitmentSalt === null)
    return resource;
  return {
    ...resource,
    extension: [
      ...(resource.extension ?? []),
      {
        url: LOG_ENTRY_EXTENSION,
        extension: [
          { url: 'index', valueInteger: version.logIndex },
          { url: 'proof', valueUrl: `/log/proof/${version.logIndex}` },
          { url: 'salt', valueBase64Binary: Buffer.from(version.commitmentSalt).toString('base64') },
        ],
      },
    ],
  } as Resource;
}

/** Checks a served AuditEvent against the bytes of its log entry; throws ERR_LOG_PROOF_INVALID if not. */
export function verifyAuditEventCommitment(served: AuditEvent, entry: Uint8Array): void {
  if (decoder.decode(auditEntryOf(served)) !== decoder.decode(entry)) {
    throw new CareLedgerError('ERR_LOG_PROOF_INVALID', 'the AuditEvent does not match its log entry', {
      details: { reason: 'commitment-mismatch' },
    });
  }
}

/** The log entry a served AuditEvent commits to, recomputed from its content and salt. */
export function auditEntryOf(served: AuditEvent): Uint8Array {
  const ext = served.extension?.find((e) => e.url === LOG_ENTRY_EXTENSION);
  const salt = ext?.extension?.find((e) => e.url === 'salt')?.valueBase64Binary;
  if (salt === undefined) {
    throw new CareLedgerError('ERR_LOG_PROOF_INVALID', 'the AuditEvent carries no log entry', {
      details: { reason: 'no-log-entry' },
    });
  }
  const rest = (served.extension ?? []).filter((e) => e.url !== LOG_ENTRY_EXTENSION);
  const { extension: _drop, ...withoutExtensions } = served;
  const original = (
    rest.length === 0 ? withoutExtensions : { ...withoutExtensions, extension: rest }
  ) as AuditEvent;
  return formatAuditEntry(original, Buffer.from(salt, 'base64'));
}
