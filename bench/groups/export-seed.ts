/**
 * Seeding for the large benchmarks (export, search-scale): resources written straight into the
 * vault's sealed store, many versions per log commit, with no HTTP, no transaction Bundle, no access
 * decision and no AuditEvent per write. Each version is sealed, hashed, logged and indexed exactly as
 * the repository's own writes are (SealedRecordStore.writeVersion), so what a search or an export
 * then reads is what a node that imported the data would hold. Benchmarks only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { canonicalJson } from '../../src/fhir/canonical-json.js';
import { compartmentPatient } from '../../src/fhir/compartment/compartment-patient.js';
import { extractSearchIndexEntries } from '../../src/fhir/search/extract-search-index-entries.js';
import type { SearchIndexEntry } from '../../src/fhir/search/search-index-entry.js';
import { keyOwner, type SealedRecordStore, type VersionWrite } from '../../src/vault/sealed-record-store.js';
import type { VaultCrypto } from '../../src/vault/vault-crypto.js';
import type { TestVault } from '../../test/support/open-test-vault.js';

const encoder = new TextEncoder();

/**
 * Where seeding writes: a node's own sealed store and vault crypto (fhir-scale opens them on a stopped
 * node's folder), or a test vault's.
 */
export interface SeedTarget {
  readonly store: SealedRecordStore;
  readonly crypto: VaultCrypto;
}

/** The vault's sealed store: private to the repository, reached here to seed without the gateway. */
export function sealedStoreOf(vault: TestVault | SeedTarget): SealedRecordStore {
  return 'store' in vault ? vault.store : (vault.repo as unknown as { store: SealedRecordStore }).store;
}

/**
 * Writes version 1 of each resource (ids set by the caller) in one log commit. `index`, when given,
 * holds each resource's blind-index rows already computed (a clone's, re-hashed from its template's
 * by createCloneSeeder); otherwise they are extracted as the repository does.
 */
export async function seedResources(
  vault: TestVault | SeedTarget,
  resources: readonly Resource[],
  index?: readonly (readonly SearchIndexEntry[])[],
): Promise<void> {
  const store = sealedStoreOf(vault);
  const lastUpdated = store.now().toISOString();
  const writes = await Promise.all(
    resources.map(async (resource, i): Promise<VersionWrite> => {
      const id = resource.id as string;
      const stored = { ...resource, meta: { ...resource.meta, versionId: '1', lastUpdated } } as Resource;
      const canonical = canonicalJson(stored);
      const patientId = compartmentPatient(stored);
      const sealed = await vault.crypto.encrypt(
        {
          resourceType: stored.resourceType,
          id,
          versionId: '1',
          patientId: keyOwner(stored.resourceType, patientId),
        },
        encoder.encode(canonical),
      );
      return {
        version: {
          resourceType: stored.resourceType,
          id,
          versionId: 1,
          patientId,
          lastUpdated,
          deleted: false,
          sealed,
          versionHash: store.versionHash(stored.resourceType, id, 1, canonical),
          commitmentSalt: null,
        },
        index: (index?.[i] as SearchIndexEntry[] | undefined) ?? store.indexEntries(stored),
      };
    }),
  );
  await store.commitMany(writes, []);
}

/** Types of the Synthea bulk set that are shared by every patient: seeded once, never cloned. */
const SHARED_TYPES = new Set(['Organization', 'Practitioner', 'PractitionerRole', 'Location']);

/** The Synthea bulk NDJSON set as lines, split into shared resources and per-patient ones. */
export interface SyntheaTemplate {
  readonly shared: readonly string[];
  readonly perCopy: readonly string[];
  /** Patients in one copy of `perCopy`. */
  readonly patients: number;
}

export function loadSyntheaTemplate(dir: string): SyntheaTemplate {
  const shared: string[] = [];
  const perCopy: string[] = [];
  let patients = 0;
  const files = readdirSync(dir).filter((f) => /^[A-Z][A-Za-z]+\.[0-9]+\.ndjson$/.test(f));
  for (const file of files.sort()) {
    const type = file.slice(0, file.indexOf('.'));
    const lines = readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    if (type === 'Patient') patients += lines.length;
    (SHARED_TYPES.has(type) ? shared : perCopy).push(...lines);
  }
  return { shared, perCopy, patients };
}

/**
 * One copy of the per-patient records under fresh ids: every `"id"` and every `Type/id` reference to
 * a cloned type is prefixed, so copies do not collide and their references resolve within the copy;
 * references to shared types (practitioners, organizations, locations) keep pointing at the one set.
 */
export function cloneCopy(template: SyntheaTemplate, prefix: string): Resource[] {
  return cloneLines(template, prefix).map((line) => JSON.parse(line) as Resource);
}

/** cloneCopy's lines as NDJSON text (what `careledger import` reads). */
export function cloneLines(template: SyntheaTemplate, prefix: string): string[] {
  return template.perCopy.map((line) =>
    line
      .replace(/"id":"([A-Za-z0-9\-.]+)"/g, (_, id: string) => `"id":"${(prefix + id).slice(0, 64)}"`)
      .replace(/"reference":"([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]+)"/g, (whole, type: string, id: string) =>
        SHARED_TYPES.has(type) ? whole : `"reference":"${type}/${(prefix + id).slice(0, 64)}"`,
      ),
  );
}

/** The shared resources, as they are. */
export function sharedResources(template: SyntheaTemplate): Resource[] {
  return template.shared.map((line) => JSON.parse(line) as Resource);
}

/** A copy's resources with their blind-index rows. */
export interface SeededCopy {
  readonly resources: Resource[];
  readonly index: SearchIndexEntry[][];
}

const SEP = '\u001f';

/** A reference row's message split at its last separator: the prefix and the reference value. */
function splitMessage(row: SearchIndexEntry): [string, string] | undefined {
  if (row.kind !== 'reference') return undefined;
  const at = row.hash.lastIndexOf(SEP);
  return [row.hash.slice(0, at + 1), row.hash.slice(at + 1)];
}

/**
 * Clones with their blind-index rows derived from the template's instead of FHIRPath per clone:
 * each template resource's rows are extracted once with the identity as "keyed hash" (so each row
 * holds the exact message the vault's keyed hash takes), and a copy's rows are those messages with
 * the copy's ids put into its reference values, then hashed with the vault's key. The first copy is
 * checked row for row against a full extraction; a template resource whose rows differ (anything the
 * id mapping does not cover) is extracted in full for every copy. Benchmarks only.
 */
export function createCloneSeeder(vault: TestVault | SeedTarget, template: SyntheaTemplate) {
  const store = sealedStoreOf(vault);
  const messages = template.perCopy.map((line) =>
    extractSearchIndexEntries(JSON.parse(line) as Resource, (message) => message),
  );
  // Rows that are not references hash the same in every copy: keyed once, reused.
  const fixedHashes = messages.map((rows) =>
    rows.map((row) => (row.kind === 'reference' ? undefined : store.searchHash(row.hash))),
  );
  const slow = new Set<number>();
  let checked = false;
  const mapMessages = (
    rows: readonly SearchIndexEntry[],
    fixed: readonly (string | undefined)[],
    prefix: string,
  ): SearchIndexEntry[] => {
    const ids = new Map<string, string>();
    for (const row of rows) {
      const value = splitMessage(row)?.[1];
      const reference = value === undefined ? null : /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]+)$/.exec(value);
      if (reference != null && !SHARED_TYPES.has(reference[1] as string))
        ids.set(reference[2] as string, (prefix + (reference[2] as string)).slice(0, 64));
    }
    return rows.map((row, k) => {
      const hash = fixed[k];
      if (hash !== undefined) return { ...row, hash };
      const split = splitMessage(row);
      if (split === undefined) return { ...row, hash: store.searchHash(row.hash) };
      const [head, value] = split;
      const slash = value.indexOf('/');
      const mapped =
        slash < 0
          ? (ids.get(value) ?? value)
          : `${value.slice(0, slash)}/${ids.get(value.slice(slash + 1)) ?? value.slice(slash + 1)}`;
      return { ...row, hash: store.searchHash(`${head}${mapped}`) };
    });
  };
  return {
    /** Lines of the template whose rows are extracted in full for every copy. */
    get slowLines(): number {
      return slow.size;
    },
    copy(prefix: string): SeededCopy {
      const resources = cloneCopy(template, prefix);
      const index = resources.map((resource, i) => {
        if (slow.has(i)) return store.indexEntries(resource);
        const fast = mapMessages(
          messages[i] as SearchIndexEntry[],
          fixedHashes[i] as (string | undefined)[],
          prefix,
        );
        if (!checked) {
          const full = store.indexEntries(resource);
          const key = (rows: readonly SearchIndexEntry[]) =>
            rows
              .map((r) => `${r.param}|${r.kind}|${r.hash}`)
              .sort()
              .join('\n');
          if (key(full) !== key(fast)) {
            slow.add(i);
            return full;
          }
        }
        return fast;
      });
      checked = true;
      return { resources, index };
    },
  };
}

/**
 * Seeds copy N of the template (and, with the first, the shared resources) straight into the sealed
 * store in commits of 500 versions, blind-index rows re-hashed from the template's; returns the
 * resources written. For the export at 10^4 patients (about 5.4 million resources), which the import
 * path cannot load here in a session (decision 0038): the export then reads what the repository
 * writes, sealed, logged and indexed alike; only validation, the access decision and the import's
 * AuditEvents are left out of the load. Benchmarks only.
 */
export function createCopySeeder(
  vault: TestVault,
  template: SyntheaTemplate,
): (copy: number) => Promise<number> {
  const seeder = createCloneSeeder(vault, template);
  return async (copy) => {
    let count = 0;
    if (copy === 0) {
      const shared = sharedResources(template);
      await seedResources(vault, shared);
      count += shared.length;
    }
    const { resources, index } = seeder.copy(`c${copy}-`);
    for (let i = 0; i < resources.length; i += 500)
      await seedResources(vault, resources.slice(i, i + 500), index.slice(i, i + 500));
    return count + resources.length;
  };
}
