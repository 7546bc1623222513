/**
 * k-anonymity across the members of one release round (decision 0041, building decision 0035 §1).
 *
 * A researcher joins the releases of several members on the study's pseudonyms, so the class a patient
 * falls in is the set of class keys (birth year or 90+, sex, ZIP3, the profile's own) that every member
 * releases of them: a patient who moved is (ZIP3 A at one member, B at another), and that pair can be
 * unique though each member's own classes all hold k. The round decides k over those sets: every data
 * member sends a coordinator member, per cohort patient, only a keyed link (createKLink, the same at
 * every member of the study) and the class key of its de-identified Patient; the coordinator groups by
 * link, counts the patients of each set of keys, and answers each member with its own links to leave
 * out. A patient left out at one member is left out at all, so no member's file holds a class the
 * union would break. Suppressing whole combined classes below k implies every member's own classes
 * hold k too: a member's class is a union of combined classes that are each released with ≥ k.
 */
import type { Address } from 'viem';
import { CareLedgerError } from '../../errors/index.js';

/** One cohort patient as a member sends it: a keyed link and the class key, nothing else. */
export interface KRoundEntry {
  readonly link: string;
  readonly classKey: string;
}

/** Counts only, over the whole round. */
export interface KRoundCounts {
  readonly members: number;
  readonly patients: number;
  readonly classes: number;
  readonly suppressedClasses: number;
  readonly suppressedPatients: number;
  readonly smallestReleasedClass: number | null;
}

export interface KRoundDecision {
  /** This member's links to leave out. */
  readonly suppress: readonly string[];
  readonly counts: KRoundCounts;
}

/** The round's decision for each member that sent entries. */
export function decideKRound(
  submissions: ReadonlyMap<Address, readonly KRoundEntry[]>,
  k: number,
): Map<Address, KRoundDecision> {
  if (!Number.isInteger(k) || k < 1)
    throw new CareLedgerError('ERR_INVALID_INPUT', 'k must be a positive integer');
  const keysOf = new Map<string, Set<string>>();
  for (const entries of submissions.values()) {
    for (const { link, classKey } of entries) {
      const keys = keysOf.get(link) ?? new Set<string>();
      keys.add(classKey);
      keysOf.set(link, keys);
    }
  }
  const combinedOf = new Map<string, string>();
  const sizes = new Map<string, number>();
  for (const [link, keys] of keysOf) {
    const combined = JSON.stringify([...keys].sort());
    combinedOf.set(link, combined);
    sizes.set(combined, (sizes.get(combined) ?? 0) + 1);
  }
  let suppressedClasses = 0;
  let suppressedPatients = 0;
  let smallest: number | null = null;
  for (const size of sizes.values()) {
    if (size < k) {
      suppressedClasses += 1;
      suppressedPatients += size;
    } else smallest = smallest === null ? size : Math.min(smallest, size);
  }
  const counts: KRoundCounts = {
    members: submissions.size,
    patients: keysOf.size,
    classes: sizes.size,
    suppressedClasses,
    suppressedPatients,
    smallestReleasedClass: smallest,
  };
  const decisions = new Map<Address, KRoundDecision>();
  for (const [member, entries] of submissions) {
    const suppress = entries
      .filter(({ link }) => (sizes.get(combinedOf.get(link) as string) as number) < k)
      .map(({ link }) => link);
    decisions.set(member, { suppress: [...new Set(suppress)], counts });
  }
  return decisions;
}

/** Parses a member's submission (untrusted JSON): links are 64 hex digits, class keys short strings. */
export function parseKRoundEntries(json: unknown): KRoundEntry[] {
  const invalid = () =>
    new CareLedgerError('ERR_INVALID_INPUT', 'entries must be a list of { link, classKey }', {
      details: { field: 'entries' },
    });
  if (!Array.isArray(json) || json.length > 1_000_000) throw invalid();
  return json.map((entry) => {
    const e = entry as Partial<KRoundEntry> | null;
    if (typeof e?.link !== 'string' || !/^[0-9a-f]{64}$/.test(e.link)) throw invalid();
    if (typeof e.classKey !== 'string' || e.classKey.length > 1_000) throw invalid();
    return { link: e.link, classKey: e.classKey };
  });
}
