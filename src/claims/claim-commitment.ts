import { createHmac } from 'node:crypto';
import type { Claim } from '@medplum/fhirtypes';
import { CareLedgerError } from '../errors/index.js';
import { canonicalJson } from '../fhir/canonical-json.js';

/**
 * HMAC-SHA-256 (RFC 2104) of the claim's canonical JSON, hex. Keyed so the ledger can hold it
 * without letting anyone confirm a guessed claim (a plain hash of low-entropy PHI is guessable).
 * `id`, `meta` and `text` are left out: they are assigned by a server, so a resubmission of the
 * same claim under a new id has the same commitment and is caught as a duplicate.
 */
export function claimCommitment(claim: Claim, key: Uint8Array): string {
  if (key.byteLength < 32) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'claim commitment key must be at least 32 bytes', {
      details: { reason: 'short-key' },
    });
  }
  const { id: _id, meta: _meta, text: _text, ...content } = claim;
  return createHmac('sha256', key).update(canonicalJson(content)).digest('hex');
}
