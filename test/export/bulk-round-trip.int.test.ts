/**
 * Bulk NDJSON round trip: the 10-patient bulk export in ../shared/data, imported into a real vault,
 * then exported with `$export`: the same resources per type come back.
 */
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../src/audit/create-audit-event.js';
import type { BulkExportModule } from '../../src/export/index.js';
import { createNodeApp } from '../../src/http/create-node-app.js';
import { importBulkNdjson } from '../support/import-bulk-ndjson.js';
import { openTestVault, type TestVault } from '../support/open-test-vault.js';
import { BULK_DIR } from '../support/shared-data.js';
import { addExportJobTable, createVaultExportModule } from '../support/vault-export-module.js';

const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
let vault: TestVault;
let module: BulkExportModule;
let app: Hono;
let imported: Map<string, number>;

beforeAll(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000Aa');
  addExportJobTable(vault);
  imported = await importBulkNdjson(vault.repo, BULK_DIR, clinician);
  module = createVaultExportModule(vault);
  await module.start();
  app = createNodeApp();
  app.route('/fhir', module.routes);
}, 300_000);

afterAll(async () => {
  await module?.stop();
  vault?.close();
});

describe('bulk NDJSON round trip', () => {
  it('exports the same resources per type as were imported', async () => {
    const headers = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-roles': 'clinician' };
    const kicked = await app.request('/fhir/$export', { headers: { ...headers, prefer: 'respond-async' } });
    expect(kicked.status).toBe(202);
    await module.service.idle();
    const status = await app.request(new URL(kicked.headers.get('content-location') as string).pathname, {
      headers,
    });
    expect(status.status, await status.clone().text()).toBe(200);
    const manifest = (await status.json()) as {
      output: { type: string; url: string; count: number }[];
      error: unknown[];
    };
    expect(manifest.error).toEqual([]);
    const exported = new Map<string, number>();
    const ids = new Set<string>();
    for (const output of manifest.output) {
      const text = await (await app.request(new URL(output.url).pathname, { headers })).text();
      for (const line of text.split('\n').filter((l) => l !== '')) {
        const resource = JSON.parse(line) as { resourceType: string; id: string };
        ids.add(`${resource.resourceType}/${resource.id}`);
        exported.set(resource.resourceType, (exported.get(resource.resourceType) ?? 0) + 1);
      }
    }
    expect(Object.fromEntries(exported)).toEqual(Object.fromEntries(imported));
    expect(ids.size).toBe([...imported.values()].reduce((a, b) => a + b, 0));
  }, 300_000);
});
