/**
 * Issue 17 item 1 ("`npm test` runs the storage, crash and FHIR suites on PostgreSQL too") and item 2
 * ("killing the sequencer process under load loses no acknowledged write and never signs two
 * checkpoints for one size; the crash suite runs in this mode too"): the FHIR-write and grant-burst
 * crash checks (fhir-write-check.ts, grant-burst-check.ts, the same checks as the SQLite runs) on a
 * three-member demo consortium whose members each keep every store in a PostgreSQL database of their
 * own, on one throw-away server.
 *
 * On PostgreSQL a member's log sequencer is elected through its database (decision 0022): before each
 * kill the hospital's process is checked to hold the lease, so every kill is of the sequencer under
 * load; after each restart a new epoch must lead (the dead holder's lease ran out, the new process took
 * it with a higher fencing token). The log history is read from the hospital's database.
 *
 * Smaller than the SQLite run, to keep CI's wall time: CARELEDGER_CRASH_PG_KILLS (default 2; the
 * chain goes down with the second and every third after it), CARELEDGER_CRASH_PG_GRANTS
 * (default 60; the burst kills the chain, then the sequencer); CARELEDGER_CRASH_SEED as there.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { findFreePorts } from '../support/free-port.js';
import { startTestPostgres, type TestPostgres } from '../support/test-postgres.js';
import { checkFhirWritesSurviveKills } from './fhir-write-check.js';
import { checkGrantBurstSurvivesKills } from './grant-burst-check.js';
import { loadPostgresLogHistory } from './sequenced-member.js';

const KILLS = Number(process.env.CARELEDGER_CRASH_PG_KILLS ?? 2);
const GRANTS = Number(process.env.CARELEDGER_CRASH_PG_GRANTS ?? 60);
const SEED = Number(process.env.CARELEDGER_CRASH_SEED ?? 0x5eed);
/** An upper bound only: the load stops after the last kill (a restart under load takes 10-20 s here). */
const LOAD_BOUND_MS = Math.max(60_000, KILLS * 20_000);
const BURST_BOUND_MS = Math.max(90_000, GRANTS * 1_000);
/** Short, so a restarted sequencer leads soon; long enough that a loaded machine does not churn. */
const LEASE_MS = 2_000;
const MEMBERS = ['hospital', 'lab', 'pharmacy'] as const;

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-pg-crash-'));
const lines: string[] = [];
let postgres: TestPostgres | undefined;
const databaseUrls: Record<string, string> = {};
let dev: DevConsortium;

beforeAll(async () => {
  postgres = await startTestPostgres();
  for (const name of MEMBERS) databaseUrls[name] = await postgres.createDatabase(name);
  const [chainPort, ...nodePorts] = await findFreePorts(4);
  dev = new DevConsortium({
    // The burst plays many patients relaying through one client: above the per-source default.
    consentRelayLimits: { grantsPerSource: 100_000, grantsPerNode: 100_000 },
    dataDir,
    chainPort: chainPort as number,
    nodePorts,
    log: (line) => lines.push(line),
    databaseUrls,
    sequencerLeaseMs: LEASE_MS,
  });
  await dev.start();
}, 180_000);

afterAll(async () => {
  await dev?.stop();
  await postgres?.close();
  if (process.env.CARELEDGER_TEST_LOG) writeFileSync(process.env.CARELEDGER_TEST_LOG, lines.join('\n'));
  if (process.env.CARELEDGER_KEEP_DATA === undefined) rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface SequencerStatus {
  readonly role?: string;
  readonly epoch?: number | null;
}

async function sequencerOf(url: string): Promise<SequencerStatus> {
  try {
    const response = await fetch(`${url}/status`, { signal: AbortSignal.timeout(5_000) });
    const body = (await response.json()) as { log?: { sequencer?: SequencerStatus } };
    return body.log?.sequencer ?? {};
  } catch {
    return {};
  }
}

/** Waits (a bounded number of looks) until the hospital's process leads with an epoch above `after`. */
async function hospitalLeads(after: number): Promise<number> {
  const url = dev.node('hospital').url;
  let seen: SequencerStatus = {};
  for (let look = 0; look < 600; look++) {
    seen = await sequencerOf(url);
    if (seen.role === 'leader' && typeof seen.epoch === 'number' && seen.epoch > after) return seen.epoch;
    await sleep(100);
  }
  throw new Error(
    `the hospital's process did not lead with an epoch above ${after} (last seen ${JSON.stringify(seen)})\n` +
      lines.slice(-20).join('\n'),
  );
}

/** Rows of `sql` in one member's database. */
async function countIn(member: string, sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrls[member] });
  await client.connect();
  try {
    return Number((await client.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

describe('PostgreSQL: the demo consortium with each member on a database of its own', () => {
  it('each member indexed the three admitted members into its own database', async () => {
    for (const member of MEMBERS)
      expect(
        await countIn(member, "SELECT count(*) AS n FROM idx_members WHERE status = 'active'"),
        member,
      ).toBe(3);
  });

  it(
    `keeps every acknowledged FHIR write and its audit entry one to one through ${KILLS} kills of the sequencer`,
    async () => {
      let epoch = 0;
      const epochs: number[] = [];
      await checkFhirWritesSurviveKills({
        dev,
        lines,
        kills: KILLS,
        writers: 6,
        seed: SEED,
        loadBoundMs: LOAD_BOUND_MS,
        // The second kill takes the chain down too, whatever the seed.
        chainPhase: 1,
        loadHistory: () => loadPostgresLogHistory(databaseUrls.hospital as string),
        beforeKill: async () => {
          // The process about to be killed holds the member's sequencer lease.
          epoch = await hospitalLeads(epoch - 1);
          epochs.push(epoch);
        },
        afterRestart: async () => {
          // Its successor took the lease once the dead holder's ran out, with a higher fencing token.
          epoch = await hospitalLeads(epoch);
        },
        label: 'fhir-write-crash (PostgreSQL)',
      });
      expect(epochs).toHaveLength(KILLS);
      expect(epoch).toBeGreaterThan(epochs.at(-1) as number);
      // Every write is in the database's log: its history is the one the check recomputed.
      expect(await countIn('hospital', 'SELECT count(*) AS n FROM log_leaves')).toBeGreaterThan(0);
    },
    LOAD_BOUND_MS + 240_000,
  );

  it(
    `keeps every acknowledged grant of ${GRANTS} through kills of the chain and of the sequencer`,
    async () => {
      await checkGrantBurstSurvivesKills({
        dev,
        lines,
        grants: GRANTS,
        burstBoundMs: BURST_BOUND_MS,
        beforeNodeKill: async () => {
          await hospitalLeads(0);
        },
      });
      // The members' indexes of the grants are their databases' rows.
      for (const member of MEMBERS)
        expect(await countIn(member, 'SELECT count(*) AS n FROM idx_grants'), member).toBeGreaterThanOrEqual(
          GRANTS,
        );
    },
    BURST_BOUND_MS + 300_000,
  );
});
