import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { BreakGlassSession } from '../../access/index.js';
import type { LogStorage } from '../../log/log-storage.js';
import { hashLeaf } from '../../log/merkle-hash.js';
import type { VaultCommitWrite, VersionCommitWrite } from '../../vault/commit-writes.js';
import type { StorageAdapter, StorageUnderTest } from './storage-adapter.js';

function version(
  resourceType: string,
  id: string,
  versionId: number,
  patientId: string,
  lastUpdated: string,
  deleted = false,
): VersionCommitWrite['version'] {
  return {
    resourceType,
    id,
    versionId,
    patientId,
    lastUpdated,
    deleted,
    sealed: deleted
      ? null
      : {
          format: 1,
          keyVersion: 1,
          nonce: new Uint8Array(12).fill(versionId),
          ciphertext: new Uint8Array([1, 2, versionId]),
        },
    versionHash: `hash-${id}-${versionId}`,
    commitmentSalt: resourceType === 'AuditEvent' ? new Uint8Array(16).fill(7) : null,
  };
}

/** The vault's index hashes are hex keyed hashes; AuditEvents' rows keep their first 16 bytes. */
const AUDIT_HASH = 'a1'.repeat(32);

/** Appends one log entry per write, applying the writes (as the vault's commitMany does). */
async function commit(log: LogStorage, writes: VaultCommitWrite[]): Promise<void> {
  const start = await log.size();
  const entries = writes.map((_, i) => new TextEncoder().encode(`entry ${start + i}`));
  await log.appendBatch({
    startIndex: start,
    entries,
    leafHashes: entries.map(hashLeaf),
    nodeHashes: [],
    withinCommit: [{ firstIndex: start, writes }],
  });
}

const put = (
  v: VersionCommitWrite['version'],
  index: { param: string; hash: string }[] = [],
  entryOffset = 0,
): VersionCommitWrite => ({
  kind: 'version',
  version: v,
  index: index.map((e) => ({ ...e, kind: 'token' as const })),
  entryOffset,
});

/** RecordStorage reads and the vault's commit writes (src/vault/commit-writes.ts) on every adapter. */
export function describeRecordStorageContract(adapter: StorageAdapter): void {
  describe(`RecordStorage and vault commit writes contract (${adapter.name})`, () => {
    let under: StorageUnderTest;
    beforeEach(async () => {
      under = await adapter.open();
    });
    afterEach(async () => {
      await under.close();
    });

    test('versions: current, version, history, type history, listCurrent, pageCurrent', async () => {
      const log = under.vaultLog();
      await commit(log, [
        put(version('Observation', 'o1', 1, 'p1', '2026-01-01T00:00:00Z'), [{ param: 'code', hash: 'h-a' }]),
      ]);
      await commit(log, [
        put(
          version('Observation', 'o2', 1, 'p2', '2026-01-02T00:00:00Z'),
          [{ param: 'code', hash: 'h-b' }],
          0,
        ),
        put(
          version('Observation', 'o1', 2, 'p1', '2026-01-03T00:00:00Z'),
          [{ param: 'code', hash: 'h-b' }],
          1,
        ),
      ]);
      await commit(log, [put(version('Observation', 'o3', 1, '', '2026-01-04T00:00:00Z', false))]);
      await commit(log, [put(version('Observation', 'o3', 2, '', '2026-01-05T00:00:00Z', true))]);
      const r = under.records;
      const current = await r.current('Observation', 'o1');
      expect(current).toMatchObject({
        versionId: 2,
        logIndex: 2,
        patientId: 'p1',
        deleted: false,
        commitmentSalt: null,
      });
      expect(current?.sealed?.ciphertext).toEqual(new Uint8Array([1, 2, 2]));
      expect(await r.version('Observation', 'o1', 1)).toMatchObject({
        logIndex: 0,
        versionHash: 'hash-o1-1',
      });
      expect(await r.current('Observation', 'nope')).toBeUndefined();
      expect((await r.history('Observation', 'o1')).map((v) => v.versionId)).toEqual([2, 1]);
      expect((await r.current('Observation', 'o3'))?.deleted).toBe(true);
      expect((await r.typeHistory('Observation', { limit: 3 })).map((v) => v.logIndex)).toEqual([4, 3, 2]);
      expect(
        (
          await r.typeHistory('Observation', { limit: 9, beforeLogIndex: 2, since: '2026-01-01T00:00:00Z' })
        ).map((v) => v.logIndex),
      ).toEqual([1]);
      expect((await r.listCurrent('Observation')).map((v) => v.id)).toEqual(['o2', 'o1']);
      expect((await r.listCurrent('Observation', { patientId: 'p1' })).map((v) => v.id)).toEqual(['o1']);
      expect((await r.pageCurrent('Observation', { limit: 1 })).map((v) => v.id)).toEqual(['o1']);
      expect(
        (await r.pageCurrent('Observation', { limit: 5, after: { patientId: 'p1', id: 'o1' } })).map(
          (v) => v.id,
        ),
      ).toEqual(['o2']);
      expect((await r.pageCurrent('Observation', { limit: 5, patients: ['p2'] })).map((v) => v.id)).toEqual([
        'o2',
      ]);
      expect(
        (
          await r.pageCurrent('Observation', { limit: 5, patients: 'any', until: '2026-01-02T00:00:00Z' })
        ).map((v) => v.id),
      ).toEqual(['o2']);
      expect(await r.pageCurrent('Observation', { limit: 5, patients: [] })).toEqual([]);
    });

    test('system history: every type but AuditEvent, newest log index first, paged and since', async () => {
      const log = under.vaultLog();
      await commit(log, [put(version('Patient', 'p1', 1, 'p1', '2026-01-01T00:00:00Z'))]);
      await commit(log, [put(version('AuditEvent', 'a1', 1, 'p1', '2026-01-02T00:00:00Z'))]);
      await commit(log, [put(version('Observation', 'o1', 1, 'p1', '2026-01-03T00:00:00Z'))]);
      await commit(log, [put(version('Observation', 'o1', 2, 'p1', '2026-01-04T00:00:00Z', true))]);
      await commit(log, [put(version('Organization', 'g1', 1, '', '2026-01-05T00:00:00Z'))]);
      const r = under.records;
      const page = async (p: Parameters<typeof r.systemHistory>[0]) =>
        (await r.systemHistory(p)).map((v) => `${v.logIndex} ${v.resourceType}/${v.id}/${v.versionId}`);
      expect(await page({ limit: 9 })).toEqual([
        '4 Organization/g1/1',
        '3 Observation/o1/2',
        '2 Observation/o1/1',
        '0 Patient/p1/1',
      ]);
      expect(await page({ limit: 2, beforeLogIndex: 3 })).toEqual(['2 Observation/o1/1', '0 Patient/p1/1']);
      expect(await page({ limit: 9, since: '2026-01-03T00:00:00Z' })).toEqual([
        '4 Organization/g1/1',
        '3 Observation/o1/2',
      ]);
    });

    test('search candidates in keyset pages: limit and after, either order, ties by id (issue 16)', async () => {
      const at = [
        '2026-01-01T00:00:00Z',
        '2026-01-02T00:00:00Z',
        '2026-01-02T00:00:00Z',
        '2026-01-02T00:00:00Z',
      ];
      const versions = [...at, '2026-01-03T00:00:00Z'].map((t, i) =>
        put(version('Observation', `k${i}`, 1, 'p1', t), [{ param: 'code', hash: 'h-k' }], i),
      );
      await commit(under.vaultLog(), versions);
      const page = async (scope: Parameters<typeof under.records.searchCandidates>[3]) =>
        (
          await under.records.searchCandidates(
            'Observation',
            [{ param: 'code', hashes: ['h-k'] }],
            undefined,
            scope,
          )
        ).map((v) => v.id);
      const tied = at[1] as string;
      expect(await page({ limit: 2 })).toEqual(['k0', 'k1']);
      expect(await page({ limit: 2, after: { lastUpdated: tied, id: 'k1' } })).toEqual(['k2', 'k3']);
      expect(await page({ limit: 2, after: { lastUpdated: tied, id: 'k3' } })).toEqual(['k4']);
      // Newest first; ties still by id ascending.
      expect(await page({ descending: true, limit: 2 })).toEqual(['k4', 'k1']);
      expect(await page({ descending: true, limit: 3, after: { lastUpdated: tied, id: 'k1' } })).toEqual([
        'k2',
        'k3',
        'k0',
      ]);
    });

    test('search candidates by blind index; erasure drops a patient’s index rows but not AuditEvents’', async () => {
      const log = under.vaultLog();
      await commit(log, [
        put(
          version('Observation', 'o1', 1, 'p1', '2026-01-01T00:00:00Z'),
          [
            { param: 'code', hash: 'h-a' },
            { param: 'status', hash: 's-final' },
          ],
          0,
        ),
        put(
          version('Observation', 'o2', 1, 'p2', '2026-01-02T00:00:00Z'),
          [{ param: 'code', hash: 'h-a' }],
          1,
        ),
        put(
          version('AuditEvent', 'a1', 1, 'p1', '2026-01-02T00:00:00Z'),
          [{ param: 'patient', hash: AUDIT_HASH }],
          2,
        ),
      ]);
      const r = under.records;
      const ids = async (...args: Parameters<typeof r.searchCandidates>) =>
        (await r.searchCandidates(...args)).map((v) => v.id);
      expect(await ids('Observation', [{ param: 'code', hashes: ['h-a', 'h-z'] }])).toEqual(['o1', 'o2']);
      expect(
        await ids('Observation', [{ param: 'code', hashes: ['h-a'] }], undefined, { descending: true }),
      ).toEqual(['o2', 'o1']);
      expect(
        await ids('Observation', [
          { param: 'code', hashes: ['h-a'] },
          { param: 'status', hashes: ['s-final'] },
        ]),
      ).toEqual(['o1']);
      expect(await ids('Observation', [{ param: 'code', hashes: ['h-a'] }], ['o2'])).toEqual(['o2']);
      expect(
        await ids('Observation', [{ param: 'code', hashes: ['h-a'] }], undefined, { compartments: ['p1'] }),
      ).toEqual(['o1']);
      expect(await ids('Observation', [{ param: 'code', hashes: [] }])).toEqual([]);
      // A new version replaces the resource's index rows.
      await commit(log, [
        put(version('Observation', 'o2', 2, 'p2', '2026-01-05T00:00:00Z'), [{ param: 'code', hash: 'h-c' }]),
      ]);
      expect(await ids('Observation', [{ param: 'code', hashes: ['h-a'] }])).toEqual(['o1']);
      await commit(log, [{ kind: 'drop-search-index', patientId: 'p1' }]);
      expect(await ids('Observation', [{ param: 'code', hashes: ['h-a'] }])).toEqual([]);
      expect(await ids('AuditEvent', [{ param: 'patient', hashes: [AUDIT_HASH] }])).toEqual(['a1']);
    });

    test('a failing commit write stores neither the versions nor the entries', async () => {
      const log = under.vaultLog();
      await expect(
        commit(log, [
          put(version('Observation', 'o1', 1, 'p1', '2026-01-01T00:00:00Z')),
          { kind: 'no-such-write' } as unknown as VaultCommitWrite,
        ]),
      ).rejects.toMatchObject({ code: 'ERR_STORAGE' });
      expect(await log.size()).toBe(0);
      expect(await under.records.current('Observation', 'o1')).toBeUndefined();
    });

    test('break-glass sessions commit with their entries; active, get, list and review', async () => {
      const log = under.vaultLog();
      const session: BreakGlassSession = {
        id: 'bg1',
        who: 'Practitioner/d1',
        patientId: 'p1',
        startedAt: '2026-01-01T10:00:00Z',
        expiresAt: '2026-01-01T11:00:00Z',
        auditEventId: 'ae1',
      };
      await commit(log, [{ kind: 'open-break-glass', session }]);
      const bg = under.breakGlass;
      expect(await bg.active('Practitioner/d1', 'p1', '2026-01-01T10:30:00Z')).toEqual(session);
      expect(await bg.active('Practitioner/d1', 'p1', '2026-01-01T11:00:00Z')).toBeUndefined();
      expect(await bg.active('Practitioner/d2', 'p1', '2026-01-01T10:30:00Z')).toBeUndefined();
      expect(await bg.list({ unreviewed: true, at: '2026-01-01T10:30:00Z' })).toEqual([]);
      expect(await bg.list({ unreviewed: true, at: '2026-01-01T12:00:00Z' })).toEqual([session]);
      expect(await bg.list({ at: '2026-01-01T12:00:00Z', patientId: 'p2' })).toEqual([]);
      const review = {
        reviewedAt: '2026-01-02T00:00:00Z',
        reviewer: 'Practitioner/po',
        auditEventId: 'ae2',
        outcome: 'justified' as const,
      };
      await commit(log, [{ kind: 'review-break-glass', sessionId: 'bg1', review }]);
      expect(await bg.get('bg1')).toEqual({ ...session, review });
      expect(await bg.list({ unreviewed: true, at: '2026-01-01T12:00:00Z' })).toEqual([]);
    });

    test('break-glass reservations: counted per clinician since a time, inert until committed, given back', async () => {
      const log = under.vaultLog();
      const bg = under.breakGlass;
      const who = 'Practitioner/d9';
      const limit = { max: 2, since: '2026-03-01T09:00:00.000Z' };
      const at = (id: string, startedAt: string) => ({ id, who, patientId: 'p1', startedAt });
      // An opening before `since` does not count.
      expect(await bg.reserve(at('r0', '2026-03-01T08:59:59.999Z'), limit)).toEqual({ reserved: true });
      expect(await bg.reserve(at('r1', '2026-03-01T09:10:00.000Z'), limit)).toEqual({ reserved: true });
      expect(await bg.reserve(at('r2', '2026-03-01T09:20:00.000Z'), limit)).toEqual({ reserved: true });
      expect(await bg.reserve(at('r3', '2026-03-01T09:30:00.000Z'), limit)).toEqual({
        reserved: false,
        oldest: '2026-03-01T09:10:00.000Z',
      });
      expect(
        await bg.reserve({ ...at('r4', '2026-03-01T09:30:00.000Z'), who: 'Practitioner/d8' }, limit),
      ).toEqual({
        reserved: true,
      });
      // Inert: no window, not listed, not found.
      expect(await bg.active(who, 'p1', '2026-03-01T09:10:00.000Z')).toBeUndefined();
      expect(await bg.get('r1')).toBeUndefined();
      expect(await bg.list({ at: '2026-03-02T00:00:00Z', patientId: 'p1' })).toEqual([]);
      // Its commit gives it a window; a reservation given back frees its place.
      const session = {
        ...at('r1', '2026-03-01T09:10:00.000Z'),
        expiresAt: '2026-03-01T09:40:00.000Z',
        auditEventId: 'ae9',
      };
      await commit(log, [{ kind: 'open-break-glass', session }]);
      expect(await bg.active(who, 'p1', '2026-03-01T09:15:00.000Z')).toEqual(session);
      await bg.release('r1');
      await bg.release('r2');
      expect(await bg.get('r1')).toEqual(session);
      expect(await bg.reserve(at('r5', '2026-03-01T09:30:00.000Z'), limit)).toEqual({ reserved: true });
      expect(await bg.reserve(at('r6', '2026-03-01T09:31:00.000Z'), limit)).toMatchObject({
        reserved: false,
      });
    });
  });
}
