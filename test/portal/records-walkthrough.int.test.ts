/**
 * The README's demo story ("records between members") in a real browser, at the hospital's portal,
 * against the demo consortium with Maria Rivera's records seeded at the hospital, the lab and the
 * pharmacy: Dr Grey fetches from the other members and is refused; Maria grants the hospital her
 * results and prescriptions (signed with her key in her browser); Dr Grey fetches again and the lab's
 * results arrive, verified, marked with their source; Maria revokes and the next fetch is refused;
 * Maria sees her records from all three members and the lab's refusals in her access history there,
 * and verifies one in her browser. Screenshots go to test-artifacts/portal/walkthrough-*.png.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoAccount, type DemoUsers, loadDemoUsers } from '../../src/cli/commands/demo-users.js';
import type { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { startDemoConsortium } from '../support/start-demo-consortium.js';
import { ARTIFACTS, ensurePortalBuilt, launchChromium, screenshot, signIn } from './portal-harness.js';

const HOSPITAL = 'Riverside General Hospital';
const LAB = 'Northside Clinical Laboratory';
const PHARMACY = 'Harbor Community Pharmacy';

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-walkthrough-'));
let dev: DevConsortium;
let users: DemoUsers;
let browser: Browser;
let contexts: BrowserContext[] = [];
let hospital: string;
let lab: string;
let pharmacy: string;
let hospitalAddress: string;
let patientAtHospital: string;
let patientAddress: string;
let doctor: Page;
let maria: Page;

const account = (name: string) => users.accounts.find((a) => a.username === name) as DemoAccount;
const getJson = async <T>(url: string): Promise<T> => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
};

/** Whether `member`'s own ledger index lets the hospital see `category` of Maria's records for TREAT. */
const consentAt = async (member: string, category: string): Promise<boolean> =>
  (
    await getJson<{ allowed: boolean }>(
      `${member}/ledger/consent/check?patient=${patientAddress}&grantee=${hospitalAddress}&category=${category}&purpose=TREAT`,
    )
  ).allowed;

/** Polls until both the lab's and the pharmacy's index agree with `allowed` (bounded). */
async function waitForIndexes(allowed: boolean): Promise<void> {
  await expect.poll(() => consentAt(lab, 'laboratory'), { timeout: 30_000, interval: 250 }).toBe(allowed);
  await expect
    .poll(() => consentAt(pharmacy, 'medications'), { timeout: 30_000, interval: 250 })
    .toBe(allowed);
}

/**
 * The hospital keeps a version only if its proof extends the sender's checkpoint anchored on the
 * ledger; a member anchors its first cosigned checkpoint some seconds after start (every 10 s), and
 * until then every version is refused as not-anchored. Waits (bounded) for the hospital's index to
 * hold an anchor of each member's log.
 */
async function waitForAnchors(): Promise<void> {
  const { members } = await getJson<{ members: { name: string; logOrigin: string }[] }>(
    `${hospital}/ledger/members`,
  );
  for (const member of members) {
    await expect
      .poll(
        async () =>
          (
            await getJson<{ anchors: unknown[] }>(
              `${hospital}/ledger/anchors?origin=${encodeURIComponent(member.logOrigin)}`,
            )
          ).anchors.length,
        { timeout: 60_000, interval: 500, message: `an anchored checkpoint of ${member.name}'s log` },
      )
      .toBeGreaterThan(0);
  }
}

interface MemberLine {
  status: string;
  text: string;
  kept: number;
}

/** Clicks "Fetch records from other members" in the open chart; returns what it shows per member. */
async function fetchFromMembers(page: Page): Promise<Map<string, MemberLine>> {
  const button = page.getByRole('button', { name: 'Fetch records from other members' });
  await button.click();
  const result = page.locator('#fetch-members-result');
  await result.locator('#fetch-members-report, .msg-error, .msg-info').first().waitFor({ timeout: 60_000 });
  // The chart is refreshed after the report; the button is enabled again once it is.
  await page.locator('#fetch-from-members:not([disabled])').waitFor({ timeout: 60_000 });
  expect(await result.getAttribute('aria-live')).toBe('polite');
  const lines = new Map<string, MemberLine>();
  const cards = result.locator('#fetch-members-report > li');
  for (let i = 0; i < (await cards.count()); i++) {
    const card = cards.nth(i);
    const text = (await card.textContent()) ?? '';
    lines.set((await card.locator('h3').textContent()) ?? '', {
      status: (await card.getAttribute('data-status')) ?? '',
      text,
      kept: Number(/kept (\d+)/.exec(text)?.[1] ?? Number.NaN),
    });
  }
  return lines;
}

/** Retries `attempt` until it returns true, or fails after `timeoutMs` (no timing assertion: a bound). */
async function retryUntil(what: string, timeoutMs: number, attempt: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await attempt()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
  }
}

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  (page as Page & { errors?: string[] }).errors = errors;
  return page;
}
const pageErrors = (page: Page) => (page as Page & { errors?: string[] }).errors ?? [];

beforeAll(async () => {
  await ensurePortalBuilt();
  dev = await startDemoConsortium(dataDir, { seedDemoRecords: true });
  users = loadDemoUsers(dataDir);
  const records = JSON.parse(readFileSync(join(dataDir, 'demo-records.json'), 'utf8')) as {
    patientIds: { hospital: string; lab: string; pharmacy: string };
  };
  patientAtHospital = records.patientIds.hospital;
  hospital = dev.node('hospital').url;
  lab = dev.node('lab').url;
  pharmacy = dev.node('pharmacy').url;
  const members = await getJson<{ members: { name: string; address: string }[] }>(
    `${hospital}/ledger/members`,
  );
  hospitalAddress = members.members.find((m) => m.name === HOSPITAL)?.address as string;
  expect(hospitalAddress).toMatch(/^0x[0-9a-fA-F]{40}$/);
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  contexts = [];
  await browser?.close();
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the demo story in the browser: records between members', () => {
  it('1. Dr Grey opens Maria’s chart and fetches from the other members: no consent yet, both refuse', async () => {
    doctor = await newPage();
    await signIn(doctor, hospital, account('dr.grey'));
    await doctor.getByRole('searchbox', { name: 'Name' }).fill('Rivera');
    await doctor.getByRole('button', { name: 'Search' }).click();
    await doctor.locator(`a[href="#/chart/${patientAtHospital}"]`).click();
    await doctor.getByRole('heading', { name: /^Chart: Maria/, level: 1 }).waitFor({ timeout: 20_000 });
    expect(await doctor.locator('main').textContent()).not.toContain(`from ${LAB}`);

    const lines = await fetchFromMembers(doctor);
    expect([...lines.keys()].sort()).toEqual([PHARMACY, LAB].sort());
    for (const name of [LAB, PHARMACY]) {
      const line = lines.get(name) as MemberLine;
      expect(line.status).toBe('refused');
      expect(line.text).toContain('no consent in force');
      expect(line.kept).toBe(0);
    }
    await screenshot(doctor, 'walkthrough-1-clinician-refused');
  }, 120_000);

  it('2. Maria grants the hospital demographics, laboratory and medications for treatment, signed in her browser', async () => {
    maria = await newPage();
    await signIn(maria, hospital, account('maria.rivera'));
    await maria.getByRole('link', { name: 'Sharing' }).first().click();
    await maria.locator('#grant-form').waitFor({ timeout: 20_000 });
    await maria.getByRole('combobox', { name: 'Who may see your records' }).selectOption({ label: HOSPITAL });
    for (const category of ['Demographics', 'Laboratory results', 'Medications'])
      await maria.getByRole('checkbox', { name: category, exact: true }).check();
    expect(await maria.getByRole('checkbox', { name: 'Treatment', exact: true }).isChecked()).toBe(true);
    await maria.getByRole('button', { name: 'Sign and grant access' }).click();
    await maria.getByLabel('Keystore passphrase').fill(users.patientKeystorePassphrase);
    await maria.getByRole('button', { name: 'Unlock key' }).click();
    const granted = maria.locator('#consent-status .msg-ok');
    await granted.waitFor({ timeout: 60_000 });
    expect(await granted.textContent()).toContain(`Access granted to ${HOSPITAL}`);

    const grants = await getJson<{ grants: { patient: string; revokedAt: number | null }[] }>(
      `${hospital}/ledger/consent/grants?grantee=${hospitalAddress}`,
    );
    patientAddress = grants.grants.find((g) => g.revokedAt === null)?.patient as string;
    expect(patientAddress).toMatch(/^0x[0-9a-fA-F]{40}$/);
    await waitForIndexes(true);
    await waitForAnchors();
    await screenshot(maria, 'walkthrough-2-patient-granted');
  }, 150_000);

  it('3. Dr Grey fetches again: the lab and the pharmacy answer, each version checked; the lab’s results show in the chart with their source', async () => {
    await doctor.bringToFront();
    const lines = await fetchFromMembers(doctor);
    for (const name of [LAB, PHARMACY]) {
      const line = lines.get(name) as MemberLine;
      expect(line.status, line.text).toBe('ok');
      expect(line.kept).toBeGreaterThan(0);
      expect(line.text).toMatch(/Provenance: Provenance\/\S+/);
      expect(line.text).toContain('refused 0');
    }
    // One record list in the chart: the kept records are there, each naming the member it came from.
    const from = doctor.locator('#record-from');
    await expect
      .poll(() => from.locator('option').allTextContents(), { timeout: 20_000 })
      .toEqual(expect.arrayContaining([LAB, PHARMACY]));
    await from.selectOption(LAB);
    expect(await doctor.locator('#records-table').textContent()).toContain(LAB);
    await from.selectOption(PHARMACY);
    expect(await doctor.locator('#records-table').textContent()).toContain(PHARMACY);
    expect(pageErrors(doctor)).toEqual([]);
    await screenshot(doctor, 'walkthrough-3-clinician-received');
  }, 150_000);

  it('4. Maria revokes the grant; once the members’ indexes have the block, Dr Grey’s fetch is refused', async () => {
    await maria.bringToFront();
    await maria.getByRole('button', { name: `Revoke the grant to ${HOSPITAL}` }).click();
    await maria.getByRole('alertdialog').getByRole('button', { name: 'Revoke' }).click();
    await maria.getByText(new RegExp(`Revoked the grant to ${HOSPITAL}`)).waitFor({ timeout: 60_000 });
    await waitForIndexes(false);
    await screenshot(maria, 'walkthrough-4-patient-revoked');

    await doctor.bringToFront();
    const lines = await fetchFromMembers(doctor);
    for (const name of [LAB, PHARMACY]) {
      const line = lines.get(name) as MemberLine;
      expect(line.status, line.text).toBe('refused');
      expect(line.kept).toBe(0);
    }
    await screenshot(doctor, 'walkthrough-4-clinician-refused');
  }, 150_000);

  it('5. Maria sees her records from the three members, verified, and the lab’s refusals in her access history there, verified in her browser', async () => {
    await maria.bringToFront();
    await maria.getByRole('link', { name: 'My records' }).click();
    await maria.getByRole('heading', { name: 'My records', level: 1 }).waitFor({ timeout: 20_000 });
    // What the hospital kept from the lab in step 3 is in her one record list too, with its source.
    const list = maria.locator('#records-table');
    await list.waitFor({ timeout: 20_000 });
    await maria.locator('#record-from').selectOption(LAB);
    expect(await list.textContent()).toContain(LAB);
    await maria.locator('#record-from').selectOption('');
    const result = maria.locator('#everywhere-result');
    let text = '';
    await retryUntil('every record verified', 60_000, async () => {
      await maria.getByRole('button', { name: 'Get my records from every member' }).click();
      await result.locator('.cards, .msg-error').first().waitFor({ timeout: 60_000 });
      text = (await result.textContent()) ?? '';
      // A version newer than its member's latest checkpoint is not provable yet: ask again.
      return !text.includes('not-yet-checkpointed');
    });
    expect(await result.locator('.msg-error').count(), text).toBe(0);
    for (const name of [HOSPITAL, LAB, PHARMACY]) {
      expect(await result.locator('.cards > li').filter({ hasText: name }).textContent()).toContain(
        'answered',
      );
    }
    // Each record once in the list, with its proof status.
    expect(await list.textContent()).toContain('verified');
    expect(await list.textContent()).not.toContain('not verified');
    expect(pageErrors(maria)).toEqual([]);
    await screenshot(maria, 'walkthrough-5-patient-records-everywhere');
    await result
      .locator('.cards')
      .screenshot({ path: join(ARTIFACTS, 'walkthrough-5-members-answered.png') });

    await maria.getByRole('link', { name: 'Access history' }).click();
    await maria.getByRole('button', { name: 'Show access at other members' }).waitFor({ timeout: 20_000 });
    const others = maria.locator('#other-members-access');
    let refusals: Locator = others.locator('.cards > li');
    let verified = '';
    await retryUntil('a refusal at the lab verified in the browser', 60_000, async () => {
      await maria.getByRole('button', { name: 'Show access at other members' }).click();
      await others.locator('.cards, .msg-error').first().waitFor({ timeout: 60_000 });
      await maria.locator('#other-access-list-outcome').selectOption('refused');
      refusals = others
        .locator('.cards > li[data-outcome="4"]')
        .filter({ hasText: `at ${LAB}` })
        .filter({ hasText: HOSPITAL });
      if ((await refusals.count()) < 2) return false; // step 1 and step 4
      const entry = refusals.last();
      await entry.getByRole('button', { name: 'Verify' }).click();
      await entry.locator('.verify-result').waitFor({ timeout: 30_000 });
      verified = (await entry.locator('.verify-result').textContent()) ?? '';
      return !/^Pending/.test(verified);
    });
    const first = (await refusals.first().textContent()) ?? '';
    expect(first).toContain('refused');
    expect(first).toContain('for your treatment');
    expect(first).toContain(`a clinician of ${HOSPITAL}`);
    expect(verified).toMatch(/^Verified/);
    expect(verified).toContain(`signed by ${LAB}`);
    expect(pageErrors(maria)).toEqual([]);
    await screenshot(maria, 'walkthrough-5-patient-access-other-members');
    await refusals.last().screenshot({ path: join(ARTIFACTS, 'walkthrough-5-lab-refusal-verified.png') });
  }, 240_000);
});
