/**
 * k-anonymity (Sweeney 2002, "k-anonymity: a model for protecting privacy", §3): every
 * combination of quasi-identifier values that occurs in a release occurs at least k times.
 * This check suppresses whole records of equivalence classes smaller than k; it never alters
 * values (generalisation is the profile's job, before this check).
 */
import { CareLedgerError } from '../errors/index.js';

export interface QuasiIdentifiedRecord {
  /** The record's pseudonymous key (e.g. the patient pseudonym); never a direct identifier. */
  readonly key: string;
  readonly birthYear: string | undefined;
  readonly sex: string | undefined;
  readonly zip3: string | undefined;
  /** Values of the profile's extra quasi-identifiers, by name. */
  readonly extra?: Readonly<Record<string, string | undefined>>;
}

export interface KAnonymityResult {
  readonly k: number;
  /** Keys of records to leave out of the release. */
  readonly suppressed: readonly string[];
  /** Keys of records that may be released. */
  readonly released: readonly string[];
  /** For the manifest: counts only, never values. */
  readonly counts: {
    readonly records: number;
    readonly released: number;
    readonly suppressed: number;
    readonly equivalenceClasses: number;
    readonly suppressedClasses: number;
    readonly smallestReleasedClass: number | null;
  };
}

export function checkKAnonymity(
  records: readonly QuasiIdentifiedRecord[],
  k: number,
  extraQuasiIdentifiers: readonly string[] = [],
): KAnonymityResult {
  if (!Number.isInteger(k) || k < 1)
    throw new CareLedgerError('ERR_INVALID_INPUT', 'k must be a positive integer');
  const classes = new Map<string, string[]>();
  for (const record of records) {
    const signature = equivalenceSignature(record, extraQuasiIdentifiers);
    const members = classes.get(signature);
    if (members) members.push(record.key);
    else classes.set(signature, [record.key]);
  }
  const suppressed: string[] = [];
  const released: string[] = [];
  let suppressedClasses = 0;
  let smallest: number | null = null;
  for (const members of classes.values()) {
    if (members.length < k) {
      suppressed.push(...members);
      suppressedClasses += 1;
    } else {
      released.push(...members);
      smallest = smallest === null ? members.length : Math.min(smallest, members.length);
    }
  }
  return {
    k,
    suppressed,
    released,
    counts: {
      records: records.length,
      released: released.length,
      suppressed: suppressed.length,
      equivalenceClasses: classes.size,
      suppressedClasses,
      smallestReleasedClass: smallest,
    },
  };
}

/**
 * The record's equivalence class as one string: its quasi-identifier values in order. A missing value
 * is its own value ("unknown"), so it cannot hide a record in a bigger class.
 */
export function equivalenceSignature(record: QuasiIdentifiedRecord, extra: readonly string[]): string {
  const values = [record.birthYear, record.sex, record.zip3, ...extra.map((name) => record.extra?.[name])];
  return JSON.stringify(values.map((value) => value ?? null));
}

/**
 * Quasi-identifiers of a de-identified Patient: birth year (or "90+"), administrative gender and
 * the generalised postal code of the first address.
 */
export function createQuasiIdentifiedRecord(patient: Record<string, unknown>): QuasiIdentifiedRecord {
  const birthDate = typeof patient.birthDate === 'string' ? patient.birthDate.slice(0, 4) : undefined;
  const masked = patient._birthDate !== undefined ? '90+' : undefined;
  const address = Array.isArray(patient.address)
    ? (patient.address[0] as Record<string, unknown> | undefined)
    : undefined;
  return {
    key: String(patient.id),
    birthYear: birthDate ?? masked,
    sex: typeof patient.gender === 'string' ? patient.gender : undefined,
    zip3: typeof address?.postalCode === 'string' ? address.postalCode : undefined,
  };
}
