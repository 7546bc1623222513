/**
 * Issue 17 item 2, decision 0022: one member served by three separate node processes (each its own
 * `careledger node start`, as on three machines) sharing one real, throw-away PostgreSQL database and
 * a real anvil chain. The log sequencer is elected through the database.
 *
 * Writers on all three: every acknowledged write is in the log with a valid inclusion proof, and one
 * process leads. A leader paused (SIGSTOP) past its lease is replaced; when it resumes (SIGCONT) its
 * writes are refused by the fence and it steps down; no size is ever signed twice.
 * (SIGKILL of the sequencer under load: test/crash/sequencer-kill-crash.int.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findCheckpointProblems } from '../crash/log-history.js';
import {
  createPatient,
  loadPostgresLogHistory,
  type MemberProcess,
  roleOf,
  type SequencedMember,
  startSequencedMember,
  startWriters,
  verifyAllLogged,
  verifyLogged,
  waitForLeader,
} from '../crash/sequenced-member.js';

const LEASE_MS = 3_000;
let member: SequencedMember;

beforeAll(async () => {
  member = await startSequencedMember(3, LEASE_MS);
}, 300_000);

afterAll(async () => {
  await member?.close();
});

async function verifyHistory(): Promise<void> {
  const history = await loadPostgresLogHistory(member.url);
  expect(history.conflictingSizes).toEqual([]);
  expect(findCheckpointProblems(history, member.folder.logOrigin, member.folder.logVerifierKey)).toEqual([]);
}

describe('one member on three processes sharing PostgreSQL, the sequencer elected through it', () => {
  test('writers on all three: one leader; every acknowledged write is logged with a valid proof', async () => {
    const leader = await waitForLeader(member.processes);
    const ids = await Promise.all(
      member.processes.flatMap((p) =>
        Array.from({ length: 6 }, (_, i) => createPatient(p, `All-${p.name}-${i}`)),
      ),
    );
    expect(new Set(ids).size).toBe(18);
    const followers = member.processes.filter((p) => p !== leader);
    for (const [i, id] of ids.entries())
      await verifyLogged(member.processes[i % 3] as MemberProcess, member.folder.logVerifierKey, id);
    expect(await Promise.all(followers.map(roleOf))).toEqual(['follower', 'follower']);
    await verifyHistory();
  }, 240_000);

  test('a leader paused past its lease is replaced; resumed, it is fenced and steps down', async () => {
    const paused = await waitForLeader(member.processes);
    const others = member.processes.filter((p) => p !== paused);
    const writers = startWriters(member, 2);
    await writers.until(10);
    paused.child.kill('SIGSTOP');
    const successor = await waitForLeader(others);
    // Writes through the other processes are acknowledged under the new leader.
    const before = writers.acknowledged.length;
    await writers.until(before + 10);
    paused.child.kill('SIGCONT');
    // Fenced by the successor's epoch; or, on a loaded machine, past its lease without a renewal (its
    // first renewal after the pause can fail outright), or a log write refused by the fence, after which
    // the storage state is unknown and it reopens the log as a follower: any way, it stops sequencing.
    const steppedDown = () =>
      paused.lines.some((l) =>
        /stepping down from epoch \d+ \((fenced|the lease could not be renewed|log storage state unknown)/.test(
          l,
        ),
      );
    for (let look = 0; look < 600 && !steppedDown(); look++) await new Promise((r) => setTimeout(r, 100));
    if (!steppedDown()) console.log(paused.lines.filter((l) => l.includes('sequencer')).join('\n'));
    expect(steppedDown()).toBe(true);
    expect(await roleOf(paused)).toBe('follower');
    expect(await roleOf(successor)).toBe('leader');
    // The resumed process serves writes again, sequenced by the new leader.
    const afterResume = await createPatient(paused, 'After-resume');
    await writers.stop();
    await verifyAllLogged(
      successor,
      member.folder.logVerifierKey,
      writers.acknowledged.map((a) => a.id),
    );
    await verifyLogged(paused, member.folder.logVerifierKey, afterResume);
    await verifyHistory();
  }, 300_000);

  test('node start --workers 2 on PostgreSQL joins as two more whole nodes; its writes are logged', async () => {
    const cluster = await member.addCluster(2);
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) => createPatient(cluster, `Cluster-${i}`)),
    );
    await verifyAllLogged(cluster, member.folder.logVerifierKey, ids);
    // Still one leader among all five processes (the cluster's two answer on one port).
    const standalone = member.processes.filter((p) => p !== cluster);
    const roles = await Promise.all(standalone.map(roleOf));
    expect(roles.filter((r) => r === 'leader').length).toBeLessThanOrEqual(1);
    expect(cluster.lines.some((l) => l.includes('the log sequencer is elected through the database'))).toBe(
      true,
    );
    await verifyHistory();
  }, 300_000);
});
