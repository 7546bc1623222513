import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { ExportJob } from '../../export/export-job.js';
import type { StorageAdapter, StorageUnderTest } from './storage-adapter.js';

function job(id: string, createdAt: string): ExportJob {
  return {
    id,
    status: 'accepted',
    request: { level: 'system', types: ['Patient'] },
    requestUrl: 'https://node.example/fhir/$export',
    context: { who: 'Practitioner/p1', organization: 'Org', purpose: 'TREAT' },
    transactionTime: createdAt,
    createdAt,
    updatedAt: createdAt,
    progress: '0%',
    sealedKey: 'sealed',
    output: [],
    errors: [],
    attempts: 0,
  } as unknown as ExportJob;
}

/** ExportJobStorage (src/export/export-job.ts) on every adapter. */
export function describeExportJobStorageContract(adapter: StorageAdapter): void {
  describe(`ExportJobStorage contract (${adapter.name})`, () => {
    let under: StorageUnderTest;
    beforeEach(async () => {
      under = await adapter.open();
    });
    afterEach(async () => {
      await under.close();
    });

    test('insert, get, update, list by status and expiry, delete', async () => {
      const storage = under.exportJobs;
      await storage.insert(job('j2', '2026-01-02T00:00:00Z'));
      await storage.insert(job('j1', '2026-01-01T00:00:00Z'));
      expect(await storage.get('j1')).toEqual(job('j1', '2026-01-01T00:00:00Z'));
      expect(await storage.get('nope')).toBeUndefined();
      await storage.update('j1', {
        status: 'completed',
        completedAt: '2026-01-01T01:00:00Z',
        expiresAt: '2026-01-02T01:00:00Z',
        attempts: 1,
        patientIds: ['a', 'b'],
      });
      expect(await storage.get('j1')).toMatchObject({
        status: 'completed',
        attempts: 1,
        patientIds: ['a', 'b'],
      });
      expect((await storage.listByStatus(['accepted', 'completed'])).map((j) => j.id)).toEqual(['j1', 'j2']);
      expect((await storage.listByStatus(['accepted'])).map((j) => j.id)).toEqual(['j2']);
      expect(await storage.listByStatus([])).toEqual([]);
      expect(await storage.listExpired('2026-01-02T00:00:00Z')).toEqual([]);
      expect((await storage.listExpired('2026-01-03T00:00:00Z')).map((j) => j.id)).toEqual(['j1']);
      await storage.delete('j1');
      expect(await storage.get('j1')).toBeUndefined();
    });
  });
}
