/**
 * The crash checks on SQLite, the embedded default, on one three-member demo consortium (one start for
 * both, to keep CI's wall time):
 *   - Core 3 (fhir-write-check.ts): the hospital SIGKILLed again and again under FHIR writes, and the
 *     chain with every third kill; no acknowledged write or audit entry lost, the log recomputes.
 *   - the foundation (grant-burst-check.ts): the chain and then the hospital SIGKILLed during a burst
 *     of grants; every acknowledged grant on the ledger and in every member's index.
 * The same checks run on PostgreSQL in consortium-postgres-crash.int.test.ts.
 *
 * Small in CI; CARELEDGER_CRASH_KILLS (default 5), CARELEDGER_CRASH_WRITERS (default 8),
 * CARELEDGER_CRASH_SEED, CARELEDGER_CRASH_LOAD_MS (the load's time bound), CARELEDGER_CRASH_GRANTS
 * (default 120; the check uses 500) and CARELEDGER_CRASH_BURST_MS make it larger.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readChainStatus } from '../../src/cli/commands/chain-status.js';
import { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { nodeDir } from '../../src/cli/data-dir.js';
import { findFreePorts } from '../support/free-port.js';
import { checkFhirWritesSurviveKills } from './fhir-write-check.js';
import { checkGrantBurstSurvivesKills } from './grant-burst-check.js';
import { loadLogHistory } from './log-history.js';

const KILLS = Number(process.env.CARELEDGER_CRASH_KILLS ?? 5);
const WRITERS = Number(process.env.CARELEDGER_CRASH_WRITERS ?? 8);
const SEED = Number(process.env.CARELEDGER_CRASH_SEED ?? 0x5eed);
/** The load stops after the last kill, or at this bound (a restart takes a few seconds on 2 cores). */
const LOAD_BOUND_MS = Number(process.env.CARELEDGER_CRASH_LOAD_MS ?? Math.max(60_000, KILLS * 6_000));
const GRANTS = Number(process.env.CARELEDGER_CRASH_GRANTS ?? 120);
const BURST_BOUND_MS = Number(process.env.CARELEDGER_CRASH_BURST_MS ?? Math.max(120_000, GRANTS * 600));

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-fhir-crash-'));
const lines: string[] = [];
let dev: DevConsortium;

beforeAll(async () => {
  // Four distinct ports, found together: the chain's and the three nodes'.
  const [chainPort, ...nodePorts] = await findFreePorts(4);
  dev = new DevConsortium({
    // The burst plays many patients relaying through one client: above the per-source default.
    consentRelayLimits: { grantsPerSource: 100_000, grantsPerNode: 100_000 },
    dataDir,
    chainPort: chainPort as number,
    nodePorts,
    log: (line) => lines.push(line),
  });
  await dev.start();
}, 120_000);

afterAll(async () => {
  await dev?.stop();
  if (process.env.CARELEDGER_TEST_LOG) writeFileSync(process.env.CARELEDGER_TEST_LOG, lines.join('\n'));
  if (process.env.CARELEDGER_KEEP_DATA === undefined) rmSync(dataDir, { recursive: true, force: true });
});

describe('SQLite: the demo consortium through SIGKILLs of a node and of the chain', () => {
  it('starts three admitted members, listed by chain status', async () => {
    const status = await readChainStatus(dataDir);
    expect(status.members.map((m) => [m.role, m.status])).toEqual([
      ['provider', 'active'],
      ['lab', 'active'],
      ['pharmacy', 'active'],
    ]);
    for (const member of status.members) {
      expect(member.name).not.toBe('');
      expect(member.address).toMatch(/^0x[0-9a-fA-F]{40}$/);
      expect(member.fhirBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/fhir$/);
    }
  });

  // First: it counts the hospital's restarts and the chain's starts from the consortium's start.
  it(
    `keeps every acknowledged write and its audit entry one to one through ${KILLS} kills`,
    () =>
      checkFhirWritesSurviveKills({
        dev,
        lines,
        kills: KILLS,
        writers: WRITERS,
        seed: SEED,
        loadBoundMs: LOAD_BOUND_MS,
        loadHistory: async () => loadLogHistory(join(nodeDir(dataDir, 'hospital'), 'node.db')),
        label: 'fhir-write-crash',
      }),
    LOAD_BOUND_MS + 240_000,
  );

  it(
    `keeps every acknowledged grant of ${GRANTS} through kills of the chain and of the hospital`,
    () => checkGrantBurstSurvivesKills({ dev, lines, grants: GRANTS, burstBoundMs: BURST_BOUND_MS }),
    BURST_BOUND_MS + 300_000,
  );
});
