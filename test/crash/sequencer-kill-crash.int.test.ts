/**
 * Crash suite, PostgreSQL mode (issue 17 item 2, decision 0022): one member on three separate node
 * processes sharing a throw-away PostgreSQL database; writers on all three; the process that
 * sequences the log is SIGKILLed under load, again and again (each time another takes the lease and
 * the killed one is restarted). Afterwards every acknowledged write is in the log with a valid
 * inclusion proof, and no size was ever signed with two roots.
 *
 * Kills: CARELEDGER_CRASH_SEQUENCER_KILLS (`npm test`: 2; `npm run test:crash`: 10). No timings are
 * asserted: each wait is for an event (a new leader, more acknowledged writes), bounded in looks.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findCheckpointProblems } from './log-history.js';
import {
  exited,
  loadPostgresLogHistory,
  type SequencedMember,
  startSequencedMember,
  startWriters,
  verifyAllLogged,
  waitForLeader,
} from './sequenced-member.js';

const KILLS = Number(process.env.CARELEDGER_CRASH_SEQUENCER_KILLS ?? 2);
const LEASE_MS = 3_000;
let member: SequencedMember;

beforeAll(async () => {
  member = await startSequencedMember(3, LEASE_MS);
}, 300_000);

afterAll(async () => {
  await member?.close();
});

describe(`PostgreSQL: the log sequencer SIGKILLed under load, ${KILLS} times`, () => {
  test('another process takes the lease each time; every acknowledged write is logged; no size signed twice', async () => {
    const writers = startWriters(member, 2);
    const leaders: string[] = [];
    for (let kill = 0; kill < KILLS; kill++) {
      await writers.until(writers.acknowledged.length + 10);
      const leader = await waitForLeader(member.processes);
      leaders.push(leader.name);
      leader.child.kill('SIGKILL');
      await exited(leader.child);
      const survivors = member.processes.filter((p) => p !== leader);
      const successor = await waitForLeader(survivors);
      expect(successor).not.toBe(leader);
      // The survivors acknowledge writes again under the new leader, before the killed one returns.
      await writers.until(writers.acknowledged.length + 5);
      await member.start(member.processes.indexOf(leader));
    }
    await writers.stop();
    expect(leaders).toHaveLength(KILLS);

    const reader = await waitForLeader(member.processes);
    await verifyAllLogged(
      reader,
      member.folder.logVerifierKey,
      writers.acknowledged.map((a) => a.id),
    );
    const history = await loadPostgresLogHistory(member.url);
    expect(history.conflictingSizes).toEqual([]);
    expect(findCheckpointProblems(history, member.folder.logOrigin, member.folder.logVerifierKey)).toEqual(
      [],
    );
  }, 900_000);
});
