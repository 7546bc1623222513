/**
 * The manifest of a study release: a FHIR Bulk Data v2 manifest
 * (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#response---complete-status) whose files and top
 * level carry an `extension` (the name the IG reserves for servers) with what a researcher and the
 * chain need: each file's SHA-256, the study, the profile's hash, the consent snapshot's block and
 * the counts. Nothing in it identifies a patient.
 *
 * The manifest hash anchored on chain is SHA-256 over the manifest's canonical JSON (keys sorted at
 * every level, no insignificant whitespace; the values are strings, integers, booleans and arrays,
 * for which this is RFC 8785's serialisation).
 */
import { createHash } from 'node:crypto';
import type { Hex } from 'viem';
import { CareLedgerError } from '../../errors/index.js';

export const RELEASE_MANIFEST_VERSION = 'careledger-research-release/1';

export interface ReleaseFileEntry {
  readonly type: string;
  readonly url: string;
  readonly count: number;
  readonly extension: { readonly sha256: string };
}

/** Counts only, never values (k-anonymity.ts). */
export interface ReleaseCounts {
  /** Patients in the consent snapshot's cohort held at this member. */
  readonly cohort: number;
  /** Patients of whom at least one resource is in the files. */
  readonly contributors: number;
  /** Resources in the output files. */
  readonly records: number;
  /** Patients left out because their equivalence class was smaller than k. */
  readonly suppressedPatients: number;
  /** Resources left out with them. */
  readonly suppressedRecords: number;
  readonly equivalenceClasses: number;
  readonly suppressedClasses: number;
  readonly smallestReleasedClass: number | null;
}

/**
 * The k round across members a release was decided in (k-round.ts, decision 0041): with it, the
 * counts' classes are the round's (each patient's set of class keys at every member), and k holds
 * for the union of the round's releases, not only for this member's files.
 */
export interface ReleaseRound {
  readonly id: string;
  /** The member that decided it. */
  readonly coordinator: Hex;
  /** Every member holding data that took part. */
  readonly members: readonly Hex[];
  /** Patients in the round's cohorts, counted once however many members hold them. */
  readonly patients: number;
  readonly suppressedPatients: number;
}

export interface ReleaseManifest {
  readonly transactionTime: string;
  readonly request: string;
  readonly requiresAccessToken: true;
  readonly output: readonly ReleaseFileEntry[];
  readonly error: readonly ReleaseFileEntry[];
  readonly extension: {
    readonly format: typeof RELEASE_MANIFEST_VERSION;
    readonly studyId: Hex;
    /** The member that released it (its ledger address). */
    readonly member: Hex;
    readonly profileHash: Hex;
    /** Decimal: the block whose consent state decided the cohort. */
    readonly consentBlock: string;
    readonly k: number;
    readonly counts: ReleaseCounts;
    readonly round?: ReleaseRound;
  };
}

/** JSON with object keys sorted at every level (RFC 8785 for the value kinds a manifest holds). */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value))
      throw new CareLedgerError('ERR_INVALID_INPUT', 'canonical JSON has no NaN or Infinity');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, item]) => item !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  throw new CareLedgerError('ERR_INVALID_INPUT', `canonical JSON has no ${typeof value}`);
}

export function sha256Hex(data: string | Uint8Array): Hex {
  return `0x${createHash('sha256').update(data).digest('hex')}`;
}

/** The hash a study names for its de-identification profile: SHA-256 of the profile JSON, canonical. */
export function hashDeidProfile(profileJson: unknown): Hex {
  return sha256Hex(canonicalJson(profileJson));
}

export function hashReleaseManifest(manifest: ReleaseManifest): Hex {
  return sha256Hex(canonicalJson(manifest));
}

/** Turns untrusted JSON (a downloaded manifest.json) into a manifest, or throws naming the field. */
export function parseReleaseManifest(json: unknown): ReleaseManifest {
  const invalid = (field: string) =>
    new CareLedgerError('ERR_INVALID_INPUT', `not a research release manifest: ${field}`, {
      details: { field },
    });
  if (typeof json !== 'object' || json === null) throw invalid('manifest');
  const m = json as Record<string, unknown>;
  const ext = m.extension as Record<string, unknown> | undefined;
  if (ext?.format !== RELEASE_MANIFEST_VERSION) throw invalid('extension.format');
  if (typeof ext.studyId !== 'string' || !/^0x[0-9a-f]{64}$/i.test(ext.studyId))
    throw invalid('extension.studyId');
  if (typeof ext.profileHash !== 'string') throw invalid('extension.profileHash');
  if (typeof ext.consentBlock !== 'string' || !/^\d+$/.test(ext.consentBlock))
    throw invalid('extension.consentBlock');
  for (const list of ['output', 'error'] as const) {
    if (!Array.isArray(m[list])) throw invalid(list);
    for (const entry of m[list] as unknown[]) {
      const e = entry as Partial<ReleaseFileEntry> | null;
      if (typeof e?.url !== 'string' || typeof e.extension?.sha256 !== 'string')
        throw invalid(`${list}[].url/sha256`);
    }
  }
  return json as ReleaseManifest;
}

/** The file name a manifest entry is saved under: the last segment of its URL. */
export function fileNameOf(entry: Pick<ReleaseFileEntry, 'url'>): string {
  const path = new URL(entry.url).pathname;
  const name = path.slice(path.lastIndexOf('/') + 1);
  if (!/^[A-Za-z0-9.-]{1,80}$/.test(name)) {
    throw new CareLedgerError('ERR_INVALID_INPUT', 'a manifest file URL has an unsafe name');
  }
  return name;
}
