import { isCareLedgerError } from '../errors/index.js';
import type { LogFloor } from './log-fence.js';
import type { StoredCheckpoint } from './log-storage.js';
import { type NoteVerifier, parseVerifierKey } from './signed-note.js';
import { type ConsistencyProver, type FetchLike, requestCosignature } from './witness.js';

/** What a witness holds of our log, compared with our latest signed checkpoint. */
export type WitnessFloorDecision =
  /** The witness holds our checkpoint or an older one (it has now cosigned ours). */
  | { readonly kind: 'not-ahead' }
  /** The witness cosigned a larger tree of our log than we have: we were rolled back. */
  | { readonly kind: 'ahead'; readonly floor: LogFloor }
  /** The witness holds another root at a size we signed: our log forked. */
  | { readonly kind: 'conflict'; readonly reason: string }
  | { readonly kind: 'unknown'; readonly error: unknown };

/**
 * Asks a witness what it last cosigned of our log, through the C2SP tlog-witness protocol itself
 * (c2sp.org/tlog-witness has no read endpoint): an add-checkpoint of our latest checkpoint with
 * `old` set to that checkpoint's size. A witness at that size cosigns it again; one at another size
 * answers 409 with its size, which tells us whether it is ahead of us.
 */
export async function evaluateWitnessFloor(
  witness: { readonly name: string; readonly url: string; readonly vkey: string | NoteVerifier },
  options: {
    readonly checkpoint: StoredCheckpoint;
    readonly log: ConsistencyProver;
    readonly fetch?: FetchLike;
    readonly timeoutMs?: number;
  },
): Promise<WitnessFloorDecision> {
  const source = `witness ${witness.name}`;
  try {
    await requestCosignature(witness.url, {
      checkpoint: options.checkpoint.note,
      oldSize: options.checkpoint.size,
      witness: typeof witness.vkey === 'string' ? parseVerifierKey(witness.vkey) : witness.vkey,
      log: options.log,
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    });
    return { kind: 'not-ahead' };
  } catch (error) {
    if (isCareLedgerError(error) && error.details.reason === 'witness-ahead') {
      const size = error.details.witnessSize;
      if (typeof size === 'number') return { kind: 'ahead', floor: { source, size } };
    }
    if (isCareLedgerError(error) && error.details.reason === 'witness-root-mismatch') {
      return {
        kind: 'conflict',
        reason: `log root at size ${options.checkpoint.size} differs from ${source}`,
      };
    }
    return { kind: 'unknown', error };
  }
}
