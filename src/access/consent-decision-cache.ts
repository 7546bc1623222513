/**
 * Consent decisions remembered between requests (issue 16 item 2), in front of the ledger index's
 * `evaluateConsent`. A decision is a function of the index's grants, practitioner attestations and
 * membership, and of the time: so an entry answers only the same question (patient, grantee,
 * category, purpose) at the same second, and the chain indexer that feeds the index in this process
 * calls `noteIndexed` with every batch it applies, before and after applying it, which drops every
 * decision the batch may change: a grant or revocation drops that patient's decisions; a registry
 * event (membership, practitioner attestation) or a rollback drops all. A decision computed while a
 * batch was being applied is not kept (the epoch moved), so nothing stale enters the cache.
 * docs/decisions/0017-hot-path-caches.md.
 *
 * Only for a process whose own indexer reports to it: a process that reads an index another process
 * updates must not use it.
 */
import { LruCache } from '../cache/index.js';
import type { ConsentCheck, ConsentDecision, ConsentQuery } from './consent-check.js';

/** What the cache needs to know of an indexed ledger event (src/sync IndexedEvent has it). */
export interface IndexedEventSummary {
  readonly contract: string;
  readonly name: string;
  readonly args: Readonly<Record<string, string | number | boolean>>;
}

export interface ConsentDecisionCacheOptions {
  /** Most decisions kept (default 10,000; an entry is a few hundred bytes). */
  readonly maxEntries?: number;
}

interface Remembered {
  readonly at: number;
  readonly decision: ConsentDecision;
}

const PATIENT_EVENTS = new Set(['ConsentGranted', 'ConsentRevoked']);
// Anchors and record locations do not enter a consent decision.
const IRRELEVANT_CONTRACTS = new Set(['anchor', 'locator']);

export class ConsentDecisionCache {
  private readonly cache: LruCache<Remembered>;
  /** Moves on every invalidation: a decision is kept only if no invalidation happened while it was made. */
  private epoch = 0;

  constructor(
    private readonly evaluate: ConsentCheck,
    options: ConsentDecisionCacheOptions = {},
  ) {
    this.cache = new LruCache<Remembered>({ maxEntries: options.maxEntries ?? 10_000 });
  }

  /** The ConsentCheck to give the access policy. */
  readonly check: ConsentCheck = async (query) => {
    const key = keyOf(query);
    const hit = this.cache.get(key);
    if (hit !== undefined && hit.at === query.at) return hit.decision;
    const epoch = this.epoch;
    const decision = await this.evaluate(query);
    if (epoch === this.epoch) this.cache.set(key, { at: query.at, decision });
    return decision;
  };

  /** Drops what a batch of indexed events may change; call it before and after the batch is applied. */
  noteIndexed(events: readonly IndexedEventSummary[]): void {
    const patients = new Set<string>();
    for (const event of events) {
      if (IRRELEVANT_CONTRACTS.has(event.contract)) continue;
      const patient = event.args.patient;
      if (event.contract === 'consent' && PATIENT_EVENTS.has(event.name) && typeof patient === 'string') {
        patients.add(patient.toLowerCase());
        continue;
      }
      // Membership, practitioner attestations, or a consent event this cache does not know: all.
      this.clear();
      return;
    }
    if (patients.size === 0) return;
    this.epoch++;
    this.cache.deleteWhere((key) => patients.has(key.slice(0, key.indexOf('|'))));
  }

  /** Drops every decision (a rollback of the index, a restore). */
  clear(): void {
    this.epoch++;
    this.cache.clear();
  }
}

function keyOf(query: ConsentQuery): string {
  return `${query.patient.toLowerCase()}|${query.grantee.toLowerCase()}|${query.category}|${query.purpose}`;
}
