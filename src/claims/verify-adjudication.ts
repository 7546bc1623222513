import type { ClaimResponse } from '@medplum/fhirtypes';
import { CareLedgerError } from '../errors/index.js';
import { canonicalJson } from '../fhir/canonical-json.js';
import { type AdjudicationInputs, adjudicateClaim } from './adjudicate-claim.js';

function firstDifference(expected: unknown, actual: unknown, path: string): string | undefined {
  if (canonicalJson(expected) === canonicalJson(actual)) return undefined;
  if (typeof expected === 'object' && expected !== null && typeof actual === 'object' && actual !== null) {
    const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
    for (const key of keys) {
      const found = firstDifference(
        (expected as Record<string, unknown>)[key],
        (actual as Record<string, unknown>)[key],
        `${path}.${key}`,
      );
      if (found !== undefined) return found;
    }
  }
  return path;
}

/**
 * Re-runs the adjudication from its inputs and throws unless the given ClaimResponse is exactly
 * what the published policy yields (canonical JSON equality; `id` and `meta` are the server's and
 * not compared). `details.path` names the first differing element, never a value (no PHI).
 */
export function verifyAdjudication(inputs: AdjudicationInputs, claimResponse: ClaimResponse): void {
  const expected = adjudicateClaim(inputs).claimResponse;
  const { id: _id, meta: _meta, ...actual } = claimResponse;
  const path = firstDifference(expected, actual, 'ClaimResponse');
  if (path !== undefined) {
    throw new CareLedgerError(
      'ERR_PRECONDITION_FAILED',
      'ClaimResponse does not match a re-run of the adjudication',
      {
        details: { reason: 'adjudication-mismatch', path },
      },
    );
  }
}
