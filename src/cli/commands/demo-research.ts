/**
 * The demo's research story, seeded once beside the story's records (issue 18, decision 0024): the
 * Lakeside University Research Group proposes a diabetes outcomes study under the Safe Harbor profile,
 * naming the hospital as its ethics board; the hospital approves it and the group opens it. Two of the
 * hospital's patients join it and stay (demo-research-volunteers.ts), so a release has a cohort; the
 * demo patient joins from the portal or with `careledger research join`. A second study is left
 * proposed without boards, so the consortium's vote can be tried.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Hex, keccak256, toHex } from 'viem';
import { hashDeidProfile } from '../../research/release/release-manifest.js';
import { SAFE_HARBOR_PROFILE_JSON } from '../../research/safe-harbor-profile.js';
import { writeFileDurably } from '../../storage/write-file-durably.js';
import { requestJson } from '../http-json.js';
import { seedResearchVolunteers } from './demo-research-volunteers.js';

export interface DemoResearchResult {
  /** The open study: `careledger research join lakeside-diabetes-2026 …`. */
  readonly openStudy: { readonly name: string; readonly id: Hex };
  /** Proposed, waiting for the members' votes. */
  readonly proposedStudy: { readonly name: string; readonly id: Hex };
}

interface ResearchNodes {
  readonly research: { readonly url: string; readonly adminToken: string };
  readonly hospital: { readonly url: string; readonly adminToken: string };
}

const OPEN_STUDY = 'lakeside-diabetes-2026';
const PROPOSED_STUDY = 'lakeside-asthma-registry';
const YEAR_MS = 365 * 86_400_000;
/** Each write answers once mined (a block or two on the embedded chain). */
const MINED_MS = 120_000;
const OPEN_CATEGORIES = ['demographics', 'conditions', 'laboratory', 'vital-signs'];

export async function seedDemoResearch(
  dataDir: string,
  nodes: ResearchNodes,
  log: (line: string) => void,
): Promise<DemoResearchResult> {
  const marker = join(dataDir, 'demo-research.json');
  if (existsSync(marker)) return JSON.parse(readFileSync(marker, 'utf8')) as DemoResearchResult;
  const { address: hospital } = await requestJson<{ address: Hex }>(`${nodes.hospital.url}/status`);
  const open = keccak256(toHex(OPEN_STUDY));
  const proposed = keccak256(toHex(PROPOSED_STUDY));
  const profileHash = hashDeidProfile(SAFE_HARBOR_PROFILE_JSON);
  const now = Date.now();
  const propose = (id: Hex, protocol: { title: string; summary: string }, extra: Record<string, unknown>) =>
    requestJson(`${nodes.research.url}/admin/research/studies`, {
      token: nodes.research.adminToken,
      timeoutMs: MINED_MS,
      body: {
        id,
        // The node keeps the protocol document and proposes its hash (decision 0035 §3).
        protocol,
        profileHash,
        notBefore: new Date(now - 3_600_000).toISOString(),
        notAfter: new Date(now + YEAR_MS).toISOString(),
        k: 2,
        ...extra,
      },
    });
  await Promise.all([
    propose(
      open,
      {
        title: 'Diabetes outcomes at Lakeside (2026)',
        summary:
          'How blood sugar, weight and blood pressure change over the years in adults with type 2 diabetes, to learn which care keeps complications away. The study receives your records without your name, address or exact dates.',
      },
      {
        categories: OPEN_CATEGORIES,
        resourceTypes: ['Patient', 'Condition', 'Observation'],
        ethicsBoards: [hospital],
      },
    ),
    propose(
      proposed,
      {
        title: 'Lakeside asthma registry',
        summary:
          'Which asthma treatments keep people out of hospital. The study receives your records without your name, address or exact dates.',
      },
      {
        categories: ['demographics', 'conditions', 'medications'],
        resourceTypes: ['Patient', 'Condition', 'MedicationRequest'],
        ethicsBoards: [],
      },
    ),
  ]);
  await requestJson(`${nodes.hospital.url}/admin/research/studies/${open}/approvals`, {
    method: 'POST',
    token: nodes.hospital.adminToken,
    timeoutMs: MINED_MS,
  });
  await requestJson(`${nodes.research.url}/admin/research/studies/${open}/open`, {
    method: 'POST',
    token: nodes.research.adminToken,
    timeoutMs: MINED_MS,
  });
  const volunteers = await seedResearchVolunteers({
    dataDir,
    hospitalUrl: nodes.hospital.url,
    study: { id: open, categories: OPEN_CATEGORIES, notAfter: Math.floor((now + YEAR_MS) / 1000) },
  });
  const result: DemoResearchResult = {
    openStudy: { name: OPEN_STUDY, id: open },
    proposedStudy: { name: PROPOSED_STUDY, id: proposed },
  };
  writeFileDurably(marker, `${JSON.stringify(result, null, 2)}\n`);
  log(
    `[research] study ${OPEN_STUDY} approved by the hospital's ethics board and open, ${volunteers.length} of the hospital's patients in it; ${PROPOSED_STUDY} awaits the vote`,
  );
  return result;
}
