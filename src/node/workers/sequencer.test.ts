import { EventEmitter } from 'node:events';
import { describe, expect, test } from 'vitest';
import { MemoryLogStorage } from '../../log/memory-log-storage.js';
import { createSignerKey } from '../../log/signed-note.js';
import { TransparencyLog } from '../../log/transparency-log.js';
import { applyVaultCommitGroup, type VaultCommitWrite } from '../../vault/commit-writes.js';
import type { StoredVersion } from '../../vault/record-storage.js';
import type { PrimaryMessage, WorkerMessage } from './messages.js';
import type { NodeEvent } from './node-broadcast.js';
import { SequencerClient } from './sequencer-client.js';
import { SequencerServer, type WorkerChannel } from './sequencer-server.js';

/** A worker and the primary joined by an in-memory channel that clones like the IPC one does. */
function link(server: () => SequencerServer) {
  const toWorker = new EventEmitter();
  let connected = true;
  const sent = { toPrimary: [] as WorkerMessage[], toWorker: [] as PrimaryMessage[] };
  const channel: WorkerChannel = {
    send: (message: PrimaryMessage, callback) => {
      sent.toWorker.push(message);
      const copy = structuredClone(message);
      queueMicrotask(() => toWorker.emit('message', copy));
      callback(null);
    },
    get connected() {
      return connected;
    },
  };
  const client = new SequencerClient({
    send: (message: WorkerMessage, callback) => {
      if (!connected) return callback(new Error('channel closed'));
      sent.toPrimary.push(message);
      const copy = structuredClone(message);
      queueMicrotask(() => server().handle(channel, copy));
      callback(null);
    },
    on: (event: string, listener: (...args: unknown[]) => void) => {
      toWorker.on(event, listener);
    },
  } as ConstructorParameters<typeof SequencerClient>[0]);
  return {
    client,
    channel,
    sent,
    disconnect() {
      connected = false;
      toWorker.emit('disconnect');
    },
  };
}

async function primary() {
  const versions: StoredVersion[] = [];
  const log = await TransparencyLog.open({
    storage: new MemoryLogStorage({
      applyCommitGroup: (group) =>
        applyVaultCommitGroup(
          { records: { insertVersion: (v) => versions.push(v), dropSearchIndex: () => undefined } },
          group,
        ),
    }),
    signerKey: createSignerKey('test.example/log').signerKey,
  });
  const links: ReturnType<typeof link>[] = [];
  const seen: NodeEvent[] = [];
  const server = new SequencerServer({
    log,
    currentVersion: async (type, id) =>
      versions
        .filter((v) => v.resourceType === type && v.id === id)
        .reduce((n, v) => Math.max(n, v.versionId), 0),
    workers: () => links.map((l) => l.channel),
    deliverLocally: (event) => seen.push(event),
  });
  links.push(
    link(() => server),
    link(() => server),
  );
  return { log, versions, links, seen };
}

const write = (id: string, versionId: number): VaultCommitWrite => ({
  kind: 'version',
  version: {
    resourceType: 'Patient',
    id,
    versionId,
    patientId: id,
    lastUpdated: '2026-12-07T05:00:00.000Z',
    deleted: false,
    sealed: null,
    versionHash: 'ab',
    commitmentSalt: null,
  },
  index: [],
  entryOffset: 0,
});

describe('workers and the one sequencer', () => {
  test('groups from two workers share the log and are answered with their indices after the commit', async () => {
    const { log, versions, links } = await primary();
    const [a, b] = links;
    const results = await Promise.all([
      a?.client.appendAll([new Uint8Array([1]), new Uint8Array([2])], { withinCommit: [write('p1', 1)] }),
      b?.client.appendAll([new Uint8Array([3])], { withinCommit: [write('p2', 1)] }),
    ]);
    expect(log.size).toBe(3);
    expect(
      results
        .flat()
        .map((r) => r?.index)
        .sort(),
    ).toEqual([0, 1, 2]);
    expect(versions.map((v) => [v.id, v.logIndex]).sort()).toEqual([
      ['p1', results[0]?.[0]?.index],
      ['p2', results[1]?.[0]?.index],
    ]);
  });

  test('two workers writing the same next version: one commits, the other is refused (412), nothing else fails', async () => {
    const { log, links } = await primary();
    const [a, b] = links;
    const settled = await Promise.allSettled([
      a?.client.appendAll([new Uint8Array([1])], { withinCommit: [write('p1', 1)] }),
      b?.client.appendAll([new Uint8Array([2])], { withinCommit: [write('p1', 1)] }),
      b?.client.appendAll([new Uint8Array([3])], { withinCommit: [write('p9', 1)] }),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason).toMatchObject({
      code: 'ERR_PRECONDITION_FAILED',
      details: { reason: 'version-conflict' },
    });
    expect(log.size).toBe(2);
  });

  test('groups appended in one turn go as one message and are answered in one, each only once durable', async () => {
    const { log, links } = await primary();
    const a = links[0] as ReturnType<typeof link>;
    const durableAtAnswer: boolean[] = [];
    const settled = await Promise.allSettled(
      [write('p1', 1), write('p1', 1), write('p2', 1)].map((w, i) =>
        a.client.appendAll([new Uint8Array([i])], { withinCommit: [w] }).then((results) => {
          durableAtAnswer.push(results.every((r) => r.index < log.size));
          return results;
        }),
      ),
    );
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(durableAtAnswer).toEqual([true, true]);
    expect(
      a.sent.toPrimary.filter((m) => m.t === 'append').map((m) => m.t === 'append' && m.groups.length),
    ).toEqual([3]);
    const answers = a.sent.toWorker.filter((m) => m.t === 'appended');
    expect(answers.map((m) => m.t === 'appended' && m.outcomes.length)).toEqual([3]);
    expect(log.size).toBe(2);
  });

  test('a batch whose commit fails is refused for every group in it, none acknowledged', async () => {
    const { log, links } = await primary();
    const a = links[0] as ReturnType<typeof link>;
    await a.client.appendAll([new Uint8Array([0])]);
    // The entries are fine; the commit write is one no storage applies: the whole batch rolls back.
    const settled = await Promise.allSettled([
      a.client.appendAll([new Uint8Array([1])], { withinCommit: [write('p1', 1)] }),
      a.client.appendAll([new Uint8Array([2])], { withinCommit: [{ kind: 'not-a-write' } as never] }),
    ]);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect((settled[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'ERR_LOG_UNAVAILABLE' });
    expect(log.size).toBe(1);
  });

  test('when the primary goes, a pending append is refused, never acknowledged', async () => {
    const { links } = await primary();
    const a = links[0] as ReturnType<typeof link>;
    const pending = a.client.appendAll([new Uint8Array([1])]);
    a.disconnect();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_LOG_UNAVAILABLE' });
    await expect(a.client.appendAll([new Uint8Array([2])])).rejects.toMatchObject({
      details: { reason: 'sequencer-gone' },
    });
  });

  test('an event published by one worker reaches every worker and the primary', async () => {
    const { links, seen } = await primary();
    const heard: string[] = [];
    links.forEach((l, i) => {
      l.client.broadcast.subscribe((event) => heard.push(`${i}:${event.topic}`));
    });
    links[0]?.client.broadcast.publish({ topic: 'patient-erased', patientId: 'p1' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(heard.sort()).toEqual(['0:patient-erased', '1:patient-erased']);
    expect(seen).toEqual([{ topic: 'patient-erased', patientId: 'p1' }]);
  });
});
