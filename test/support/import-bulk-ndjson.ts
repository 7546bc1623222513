import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import type { FhirRepository } from '../../src/vault/fhir-repository.js';

/**
 * Loads a folder of bulk NDJSON (`Type.000.ndjson`, one resource a line) into a vault, keeping ids
 * (PUT entries of transaction Bundles, `batchSize` at a time), so references between files resolve.
 * Returns the number of resources per type.
 */
export async function importBulkNdjson(
  repo: FhirRepository,
  dir: string,
  context: AccessContext,
  options: { batchSize?: number; idPrefix?: string } = {},
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const files = readdirSync(dir)
    .filter((f) => /^[A-Z][A-Za-z]+\.[0-9]+\.ndjson$/.test(f))
    // Patients first: the rest refer to them.
    .sort(
      (a, b) => Number(!a.startsWith('Patient.')) - Number(!b.startsWith('Patient.')) || a.localeCompare(b),
    );
  const prefix = options.idPrefix ?? '';
  for (const file of files) {
    const lines = readFileSync(join(dir, file), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const batchSize = options.batchSize ?? 250;
    for (let i = 0; i < lines.length; i += batchSize) {
      const entry = lines.slice(i, i + batchSize).map((line) => {
        const resource = JSON.parse(prefix === '' ? line : prefixIds(line, prefix)) as {
          resourceType: string;
          id: string;
        };
        return { resource, request: { method: 'PUT', url: `${resource.resourceType}/${resource.id}` } };
      });
      await repo.transaction({ resourceType: 'Bundle', type: 'transaction', entry }, context);
      for (const { resource } of entry)
        counts.set(resource.resourceType, (counts.get(resource.resourceType) ?? 0) + 1);
    }
  }
  return counts;
}

/**
 * The same records under other ids (every `"id"` and `Type/id` reference prefixed), so one data set
 * can be loaded many times over for a benchmark of a larger population.
 */
function prefixIds(line: string, prefix: string): string {
  return line
    .replace(/"id":"([A-Za-z0-9\-.]+)"/g, (_, id: string) => `"id":"${(prefix + id).slice(0, 64)}"`)
    .replace(
      /"reference":"([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]+)"/g,
      (_, type: string, id: string) => `"reference":"${type}/${(prefix + id).slice(0, 64)}"`,
    );
}
