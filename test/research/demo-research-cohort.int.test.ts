/**
 * The demo's open study has a cohort (issue 18): two of the hospital's patients joined it and stay,
 * so a release from every member holding data, started at the research group, gives the hospital a
 * non-empty, k-anonymous file set (their two de-identified Patients, Conditions and HbA1c results)
 * that verifies against the chain. Before, nobody was in the study and a demo release had 0 records.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_MEMBERS, DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { nodePaths } from '../../src/node/node-config.js';
import type { ReleaseManifest } from '../../src/research/release/index.js';
import { runResearchVerify } from '../../src/research/release/research-release-commands.js';
import { runReleaseRound } from '../../src/research/release/research-round-command.js';
import { studyGrantee } from '../../src/research/study.js';
import { findFreePorts } from '../support/free-port.js';

const OPEN_STUDY = keccak256(toHex('lakeside-diabetes-2026'));
const dataDir = mkdtempSync(join(tmpdir(), 'careledger-demo-research-'));
let dev: DevConsortium;

const lines: string[] = [];
/** Woken by the next line any process of the demo writes (a job completed, a release anchored...). */
let nextLine: (() => void) | undefined;
const log = (line: string) => {
  lines.push(line);
  nextLine?.();
};
/** Resolves at the next line the demo's processes write after `seen` lines, at once if there is one. */
const linesAfter = (seen: number) =>
  new Promise<void>((resolve) => {
    if (lines.length > seen) resolve();
    else nextLine = resolve;
  });

beforeAll(async () => {
  const [chainPort, ...nodePorts] = await findFreePorts(1 + DEMO_MEMBERS.length);
  dev = new DevConsortium({
    dataDir,
    chainPort: chainPort as number,
    nodePorts,
    log,
    seedDemoRecords: true,
  });
  await dev.start();
}, 300_000);

afterAll(async () => {
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const getJson = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;

/** The node's research index follows ResearchRegistry on a timer: asks until it holds the study. */
async function indexedAt(url: string): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const { studies } = await getJson<{ studies: { id: string }[] }>(`${url}/research/studies`);
    if (studies.some((s) => s.id === OPEN_STUDY)) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`${url} never indexed the demo's open study\n${lines.slice(-40).join('\n')}`);
}

describe("the demo's open study", () => {
  it('has two patients who joined and stay: grants to the study in force', async () => {
    const hospital = dev.node('hospital').url;
    const { grants } = await getJson<{ grants: { patient: string; revokedAt: number | null }[] }>(
      `${hospital}/ledger/consent/grants?grantee=${studyGrantee(OPEN_STUDY)}`,
    );
    expect(grants).toHaveLength(2);
    expect(grants.every((g) => g.revokedAt === null)).toBe(true);
  });

  it('releases their de-identified records from the hospital in a round across every member holding data', async () => {
    // The research member starts the round from its index; the hospital releases from its own.
    for (const name of ['research', 'hospital']) await indexedAt(dev.node(name).url);
    const research = dev.node('research');
    const out = join(dataDir, 'release');
    let seen = lines.length;
    let polls = 0;
    const round = await runReleaseRound({
      url: research.url,
      token: readFileSync(nodePaths(research.dir).adminToken, 'utf8').trim(),
      studyId: OPEN_STUDY,
      outDir: out,
      say: (line) => lines.push(`[round] ${line}`),
      // The round's status is asked again once a node has written something (a job completed, a
      // manifest anchored): no timer. Before the k-round fix the hospital's job waited, silent, at
      // "starting", and no line came.
      sleep: async () => {
        polls += 1;
        if (polls > 1000) throw new Error('the release round is still running after 1,000 polls');
        await linesAfter(seen);
        seen = lines.length;
      },
    }).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${lines.slice(-60).join('\n')}`);
    });
    expect(round.state).toBe('done');
    const byName = new Map(round.members.map((m) => [m.name, m.manifest as ReleaseManifest]));
    const atHospital = byName.get('Riverside General Hospital');
    expect(atHospital?.extension.counts).toMatchObject({
      records: 6,
      contributors: 2,
      suppressedPatients: 0,
    });
    // The other members hold nothing of the two: their files are empty, and each took part in the
    // round (its manifest names it), which is decided over the two only.
    for (const [name, manifest] of byName) {
      if (name !== 'Riverside General Hospital') expect(manifest.extension.counts.records).toBe(0);
      expect(manifest.extension.round).toMatchObject({ id: round.id, patients: 2, suppressedPatients: 0 });
    }
    // De-identified: no name, exact birth date or full ZIP of theirs in any file the hospital released.
    const folder = join(out, round.members.find((m) => m.manifest === atHospital)?.address ?? '');
    const released = readdirSync(folder)
      .map((name) => readFileSync(join(folder, name), 'utf8'))
      .join('\n');
    expect(released).toContain('"resourceType":"Patient"');
    expect(released).not.toMatch(/Okafor|Lindqvist|Grace|Helen|1961-03-08|1961-11-21|02139|02141/);
    // The download verifies against ResearchRegistry, asked at the hospital as the research group.
    const { members } = await getJson<{ members: { name: string; address: string }[] }>(
      `${dev.node('hospital').url}/ledger/members`,
    );
    const group = members.find((m) => m.name === 'Lakeside University Research Group');
    const verified = await runResearchVerify({
      nodeUrl: dev.node('hospital').url,
      identity: `Organization/${group?.address}`,
      manifestPath: join(folder, 'manifest.json'),
      dir: folder,
    });
    expect(verified.anchor).toMatchObject({ records: 6, suppressed: 0 });
  }, 300_000);
});
