/**
 * Keyed pseudonyms for a study: HMAC-SHA-256 (RFC 2104, FIPS 198-1) under the study's key, so the
 * same patient gets the same pseudonym at every member within a study, and pseudonyms of two
 * studies cannot be linked without both keys. Each kind of input has its own domain label.
 */
import { createHmac } from 'node:crypto';
import { CareLedgerError } from '../errors/index.js';

/** NIST SP 800-107 §5.3.4: an HMAC key should be at least as long as the security strength wanted. */
export const MIN_STUDY_KEY_BYTES = 32;

export const PSEUDONYM_IDENTIFIER_SYSTEM = 'urn:careledger:research:pseudonym';

type PseudonymKind = 'resource-id' | 'identifier' | 'value' | 'date-shift' | 'k-link';

export function verifyStudyKey(studyKey: Uint8Array): void {
  if (!(studyKey instanceof Uint8Array) || studyKey.length < MIN_STUDY_KEY_BYTES) {
    throw new CareLedgerError('ERR_INVALID_INPUT', `study key must be at least ${MIN_STUDY_KEY_BYTES} bytes`);
  }
}

function mac(studyKey: Uint8Array, kind: PseudonymKind, input: string): Buffer {
  return createHmac('sha256', studyKey).update(`careledger-research:${kind}:v1\0${input}`, 'utf8').digest();
}

/** A FHIR id (UUID-shaped, version 8 "custom" of RFC 9562 §5.8) for a resource id. */
export function createResourcePseudonym(studyKey: Uint8Array, id: string): string {
  const bytes = mac(studyKey, 'resource-id', id).subarray(0, 16);
  bytes[6] = ((bytes[6] as number) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] as number) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function createIdentifierPseudonym(studyKey: Uint8Array, system: string, value: string): string {
  return mac(studyKey, 'identifier', `${system}|${value}`).toString('hex');
}

export function createValuePseudonym(studyKey: Uint8Array, value: string): string {
  return mac(studyKey, 'value', value).toString('hex');
}

/** A per-patient shift in [-365, 365] days, never 0, derived from the study key and patient id. */
export function derivePatientShiftDays(studyKey: Uint8Array, patientId: string): number {
  const n = mac(studyKey, 'date-shift', patientId).readUInt32BE(0) % 730;
  return n < 365 ? n - 365 : n - 364;
}

/**
 * The key one patient's classes are joined by in a k round across members (k-round.ts): the same at
 * every member of the study (keyed on the ledger address), unlinkable to any released id or to
 * another study's, and known only to members holding the research secret.
 */
export function createKLink(studyKey: Uint8Array, patientAddress: string): string {
  return mac(studyKey, 'k-link', patientAddress.toLowerCase()).toString('hex');
}
