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
import { keyOwner, type SealedRecordStore, type VersionWrite } from '../../src/vault/sealed-record-store.js';
import type { TestVault } from '../../test/support/open-test-vault.js';

const encoder = new TextEncoder();

/** The vault's sealed store: private to the repository, reached here to seed without the gateway. */
export function sealedStoreOf(vault: TestVault): SealedRecordStore {
  return (vault.repo as unknown as { store: SealedRecordStore }).store;
}

/** Writes version 1 of each resource (ids set by the caller) in one log commit. */
export async function seedResources(vault: TestVault, resources: readonly Resource[]): Promise<void> {
  const store = sealedStoreOf(vault);
  const lastUpdated = store.now().toISOString();
  const writes = await Promise.all(
    resources.map(async (resource): Promise<VersionWrite> => {
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
        index: store.indexEntries(stored),
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
  return template.perCopy.map(
    (line) =>
      JSON.parse(
        line
          .replace(/"id":"([A-Za-z0-9\-.]+)"/g, (_, id: string) => `"id":"${(prefix + id).slice(0, 64)}"`)
          .replace(/"reference":"([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]+)"/g, (whole, type: string, id: string) =>
            SHARED_TYPES.has(type) ? whole : `"reference":"${type}/${(prefix + id).slice(0, 64)}"`,
          ),
      ) as Resource,
  );
}

/** The shared resources, as they are. */
export function sharedResources(template: SyntheaTemplate): Resource[] {
  return template.shared.map((line) => JSON.parse(line) as Resource);
}
