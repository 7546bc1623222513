import { describe, expect, test } from 'vitest';
import { MemoryBreakGlassStore } from '../access/index.js';
import { MemoryLogStorage } from '../log/memory-log-storage.js';
import { createSignerKey } from '../log/signed-note.js';
import { TransparencyLog } from '../log/transparency-log.js';
import { applyVaultCommitGroup, type VaultCommitWrite } from './commit-writes.js';
import type { StoredVersion } from './record-storage.js';

function target() {
  const versions: StoredVersion[] = [];
  const dropped: string[] = [];
  const breakGlass = new MemoryBreakGlassStore();
  return {
    versions,
    dropped,
    breakGlass,
    records: {
      insertVersion: (version: StoredVersion) => versions.push(version),
      dropSearchIndex: (patientId: string) => dropped.push(patientId),
    },
  };
}

const version = (id: string): Omit<StoredVersion, 'logIndex'> => ({
  resourceType: 'Patient',
  id,
  versionId: 1,
  patientId: id,
  lastUpdated: '2026-12-07T04:00:00.000Z',
  deleted: false,
  sealed: { format: 1, keyVersion: 1, nonce: new Uint8Array(12), ciphertext: new Uint8Array([1, 2]) },
  versionHash: 'ab',
  commitmentSalt: null,
});

describe('vault commit writes', () => {
  test('are applied with the log index of their entry, after a structured clone (IPC)', async () => {
    const t = target();
    const log = await TransparencyLog.open({
      storage: new MemoryLogStorage({ applyCommitGroup: (group) => applyVaultCommitGroup(t, group) }),
      signerKey: createSignerKey('test.example/log').signerKey,
    });
    await log.append(new Uint8Array([9]));
    const writes: VaultCommitWrite[] = [
      { kind: 'version', version: version('p1'), index: [], entryOffset: 0 },
      { kind: 'version', version: version('p2'), index: [], entryOffset: 1 },
      { kind: 'drop-search-index', patientId: 'p0' },
      {
        kind: 'open-break-glass',
        session: {
          id: 's1',
          who: 'Practitioner/dr-1',
          patientId: 'p1',
          startedAt: '2026-12-07T04:00:00.000Z',
          expiresAt: '2026-12-07T05:00:00.000Z',
          auditEventId: 'a1',
        },
      },
    ];
    await log.appendAll([new Uint8Array([1]), new Uint8Array([2])], {
      withinCommit: structuredClone(writes),
    });
    expect(t.versions.map((v) => [v.id, v.logIndex])).toEqual([
      ['p1', 1],
      ['p2', 2],
    ]);
    expect(t.versions[0]?.sealed?.ciphertext).toEqual(new Uint8Array([1, 2]));
    expect(t.dropped).toEqual(['p0']);
    expect((await t.breakGlass.get('s1'))?.patientId).toBe('p1');
  });

  test('an unknown kind rolls the batch back', async () => {
    const t = target();
    const log = await TransparencyLog.open({
      storage: new MemoryLogStorage({ applyCommitGroup: (group) => applyVaultCommitGroup(t, group) }),
      signerKey: createSignerKey('test.example/log').signerKey,
    });
    await expect(
      log.appendAll([new Uint8Array([1])], { withinCommit: [{ kind: 'no-such-write' }] }),
    ).rejects.toMatchObject({ code: 'ERR_LOG_UNAVAILABLE' });
    expect(log.size).toBe(0);
  });
});
