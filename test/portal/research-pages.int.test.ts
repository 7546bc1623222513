/**
 * Issue 18 items 2 and 6 in a real browser (Debian's chromium through playwright-core) against the demo
 * consortium with its research group: the patient sees the open study in words and is in no study by
 * default, joins it (an HRESCH grant signed in the browser with her key), sees it on the ledger, and
 * leaves it; the research group's operator proposes a study naming the hospital as its ethics board,
 * the hospital's operator approves it and votes on the study waiting for the members' vote, the
 * research group opens it; the research group releases the open study from every member holding data
 * (one k round, decision 0041), follows each member's progress, and downloads and verifies each manifest
 * against the chain in the browser. Desktop and 375 px.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { keccak256, toHex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoAccount, DemoUsers } from '../../src/cli/commands/demo-users.js';
import { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { nodePaths } from '../../src/node/node-config.js';
import { studyGrantee } from '../../src/research/study.js';
import { findFreePorts } from '../support/free-port.js';
import { ensurePortalBuilt, launchChromium, screenshot, signIn } from './portal-harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-research-portal-'));
let dev: DevConsortium;
let users: DemoUsers;
let browser: Browser;
let hospital: string;
let research: string;
let patient: Page;

const account = (name: string) => users.accounts.find((a) => a.username === name) as DemoAccount;
const tokenOf = (name: string) => readFileSync(nodePaths(dev.node(name).dir).adminToken, 'utf8').trim();
const getJson = async <T>(url: string): Promise<T> => (await (await fetch(url)).json()) as T;
const OPEN_STUDY = keccak256(toHex('lakeside-diabetes-2026'));
const VOTED_STUDY = keccak256(toHex('lakeside-asthma-registry'));
const NEW_STUDY = keccak256(toHex('lakeside-portal-cohort'));

interface Grant {
  grantee: string;
  revokedAt: number | null;
}

/**
 * Maria's grants to the open study. Two other patients of the hospital joined it in the demo and stay
 * (demo-research-volunteers.ts), so the study's grants are filtered by her ledger address (her
 * keystore's, which go-ethereum writes as lower-case hex without 0x).
 */
async function patientGrants(): Promise<Grant[]> {
  const maria = `0x${(users.patientKeystore?.address ?? '').replace(/^0x/, '')}`;
  const { grants } = await getJson<{ grants: Grant[] }>(
    `${hospital}/ledger/consent/grants?grantee=${studyGrantee(OPEN_STUDY)}&patient=${maria}`,
  );
  return grants;
}

/** Opens #/studies on a node as its operator (no sign-in: the page is reachable by address). */
async function operatorPage(base: string, name: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${base}/portal/#/studies`);
  await page.getByRole('heading', { name: 'Studies', level: 1 }).waitFor({ timeout: 20_000 });
  await page.getByLabel('Admin token').fill(tokenOf(name));
  await page.getByRole('button', { name: 'Use token' }).click();
  await page.getByRole('button', { name: 'Forget the admin token' }).waitFor();
  return page;
}

const card = (page: Page, id: string) => page.locator(`li[data-study-id="${id}"]`);

beforeAll(async () => {
  await ensurePortalBuilt();
  const [chainPort, ...nodePorts] = await findFreePorts(9);
  dev = new DevConsortium({
    dataDir,
    chainPort: chainPort as number,
    nodePorts,
    log: () => undefined,
    seedDemoRecords: true,
  });
  await dev.start();
  users = dev.demoUsers as DemoUsers;
  hospital = dev.node('hospital').url;
  research = dev.node('research').url;
  // The hospital's index follows ResearchRegistry on a timer: wait until it holds the demo's studies.
  let ids: string[] = [];
  for (let i = 0; i < 90 && !ids.includes(OPEN_STUDY); i++) {
    ids = (await getJson<{ studies: { id: string }[] }>(`${hospital}/research/studies`)).studies.map(
      (s) => s.id,
    );
    if (!ids.includes(OPEN_STUDY)) await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  if (!ids.includes(OPEN_STUDY))
    throw new Error(
      `the hospital's index has no demo study: ${JSON.stringify(ids)} ${JSON.stringify(dev.demoResearch)}`,
    );
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the patient’s research page', () => {
  it('lists the open study in plain words, and she is in no study by default', async () => {
    patient = await browser.newPage();
    const errors: string[] = [];
    patient.on('pageerror', (e) => errors.push(e.message));
    await signIn(patient, hospital, account('maria.rivera'));
    await patient.getByRole('link', { name: 'Research' }).click();
    await patient.getByRole('heading', { name: 'Research', level: 1 }).waitFor();
    const study = card(patient, OPEN_STUDY);
    await study.waitFor({ timeout: 30_000 }).catch(async (error: unknown) => {
      await screenshot(patient, 'research-patient-failed');
      throw new Error(`${(error as Error).message}\n${(await patient.locator('main').textContent()) ?? ''}`);
    });
    const text = (await study.textContent()) ?? '';
    expect(text).toContain('Lakeside University Research Group');
    expect(text).toContain('Riverside General Hospital'); // its ethics board
    expect(text).toContain('laboratory results');
    expect(text).toContain('Safe Harbor');
    expect(text).toContain('k = 2');
    expect(text).toContain('You are not in this study');
    // The proposed study is not offered to patients.
    expect(await card(patient, VOTED_STUDY).count()).toBe(0);
    expect(await patient.locator('#general-research').textContent()).toContain(
      'You do not take part in research in general',
    );
    expect(await patient.locator('#used-none').count()).toBe(1);
    expect(await patient.locator('#credits-total').textContent()).toBe('0 credits in all');
    expect(await patientGrants()).toEqual([]);
    expect(errors).toEqual([]);
    await screenshot(patient, 'research-patient');
  });

  it('joins the study with her key (an HRESCH grant to the study’s address on the ledger), then leaves it', async () => {
    await card(patient, OPEN_STUDY).getByRole('button', { name: 'Sign and join this study' }).click();
    await patient.getByLabel('Keystore passphrase').fill(users.patientKeystorePassphrase);
    await patient.getByRole('button', { name: 'Unlock key' }).click();
    await patient.locator('#research-status').getByText('You joined').waitFor({ timeout: 60_000 });
    // The card is drawn again once the node's index holds the grant (a block later).
    await card(patient, OPEN_STUDY).getByText('You are in this study').waitFor({ timeout: 60_000 });
    const joined = await patientGrants();
    expect(joined).toHaveLength(1);
    expect(joined[0]?.revokedAt).toBeNull();

    await card(patient, OPEN_STUDY).getByRole('button', { name: 'Leave this study' }).click();
    await patient.getByRole('button', { name: 'Leave', exact: true }).click();
    await patient.locator('#research-status').getByText('You left').waitFor({ timeout: 60_000 });
    await card(patient, OPEN_STUDY).getByText('You are not in this study').waitFor({ timeout: 60_000 });
    const left = await patientGrants();
    expect(left).toHaveLength(1);
    expect(left[0]?.revokedAt).not.toBeNull();
  });

  it('lays the page out for a 375 px wide phone', async () => {
    await patient.setViewportSize({ width: 375, height: 800 });
    await patient.reload();
    await card(patient, OPEN_STUDY).waitFor({ timeout: 15_000 });
    const overflow = await patient.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(patient, 'research-patient-375');
  });
});

describe('the studies page for research staff and ethics boards', () => {
  it('the research group proposes a study naming the hospital as board; the hospital approves; the group opens it', async () => {
    const group = await operatorPage(research, 'research');
    expect(await card(group, OPEN_STUDY).getAttribute('data-status')).toBe('open');
    expect(await card(group, VOTED_STUDY).getAttribute('data-status')).toBe('proposed');
    await group.getByLabel('Protocol id').fill('lakeside-portal-cohort');
    await group.getByLabel('Title').fill('Portal cohort of Lakeside');
    await group
      .getByLabel('Summary for patients')
      .fill('Which treatments help adults with diabetes, from records without names or exact dates.');
    await group.getByLabel('Smallest group k').fill('3');
    await group
      .locator('#propose-study-form')
      .getByRole('checkbox', { name: 'Riverside General Hospital' })
      .check();
    await group.getByRole('button', { name: 'Propose the study' }).click();
    await group.locator('#studies-status').getByText('Proposed the study').waitFor({ timeout: 120_000 });
    expect(await card(group, NEW_STUDY).getAttribute('data-status')).toBe('proposed');
    expect(await card(group, NEW_STUDY).textContent()).toContain('0 of 1 approvals');
    // Named by the title its node checked against the hash on the ledger.
    expect(await card(group, NEW_STUDY).locator('h2').textContent()).toContain('Portal cohort of Lakeside');

    const board = await operatorPage(hospital, 'hospital');
    await card(board, NEW_STUDY).getByRole('button', { name: 'Approve as ethics board' }).click();
    await board.locator('#studies-status').getByText('Approved').waitFor({ timeout: 120_000 });
    expect(await card(board, NEW_STUDY).getAttribute('data-status')).toBe('approved');
    // The study without boards waits for the members' vote: the hospital votes.
    await card(board, VOTED_STUDY).getByRole('button', { name: 'Vote to approve' }).click();
    await board.locator('#studies-status').getByText('Approved').waitFor({ timeout: 120_000 });
    expect(await card(board, VOTED_STUDY).textContent()).toMatch(/1 of \d+ approvals/);
    await screenshot(board, 'research-board');

    await group.reload();
    await group.getByLabel('Admin token').fill(tokenOf('research'));
    await group.getByRole('button', { name: 'Use token' }).click();
    await card(group, NEW_STUDY).getByRole('button', { name: 'Open the study' }).click();
    await group.locator('#studies-status').getByText('Opened').waitFor({ timeout: 120_000 });
    expect(await card(group, NEW_STUDY).getAttribute('data-status')).toBe('open');
    await group.setViewportSize({ width: 375, height: 800 });
    const overflow = await group.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(group, 'research-group-375');
  });

  it('a release started by someone other than the study’s researcher is refused with the reason', async () => {
    const board = await operatorPage(hospital, 'hospital');
    await card(board, OPEN_STUDY).getByRole('button', { name: 'Start a release here' }).click();
    await card(board, OPEN_STUDY).locator('.release-out').getByText('The release was refused').waitFor({
      timeout: 30_000,
    });
  });

  it('the research group releases the open study from every member holding data, follows it, and verifies each download against the chain', async () => {
    const group = await operatorPage(research, 'research');
    await card(group, OPEN_STUDY).getByRole('button', { name: 'Release from every member' }).click();
    const round = card(group, OPEN_STUDY).locator('#release-round');
    await round.waitFor({ timeout: 60_000 });
    // Every member holding data takes part (decision 0041), each named with its progress.
    for (const name of [
      'Riverside General Hospital',
      'Northside Clinical Laboratory',
      'Harbor Community Pharmacy',
      'Evergreen Health Plan',
    ])
      expect(await round.textContent()).toContain(name);
    await group
      .locator('#release-round[data-state="done"]')
      .waitFor({ timeout: 300_000 })
      .catch(async (error: unknown) => {
        await screenshot(group, 'research-round-failed');
        throw new Error(`${(error as Error).message}\n${(await round.textContent()) ?? ''}`);
      });
    const members = round.locator('li[data-member]');
    expect(await members.count()).toBe(4);
    // Each manifest is shown, downloaded, hashed in the browser and its hash found on chain.
    for (let i = 0; i < 4; i++) {
      const member = members.nth(i);
      expect(await member.locator('.manifest-hash').textContent()).toMatch(/^0x[0-9a-f]{64}$/);
      await member.getByRole('button', { name: /^Download and verify/ }).click();
      await member.locator('.verify-out').getByText('Verified: every file matches the manifest').waitFor({
        timeout: 60_000,
      });
      expect(await member.locator('.verify-out').textContent()).toMatch(
        /anchored on the ledger in block \d+/,
      );
    }
    await screenshot(group, 'research-round');
    await group.setViewportSize({ width: 375, height: 800 });
    const overflow = await group.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(group, 'research-round-375');
  });
});
