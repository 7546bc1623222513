/**
 * Issue 22 in a real browser (Debian's chromium), against the demo consortium with Maria Rivera's
 * Synthea story seeded at the hospital, the lab and the pharmacy, at desktop and at a 375-pixel phone:
 * - item 1: Maria keeps the form's default, "Laboratory results" only; the form says in words what
 *   that grant does; Dr Grey's fetch then brings the lab's results, the report saying what the grant
 *   covers (matched by ledger address, no demographics), and the pharmacy sends no prescriptions;
 * - "Make it readable": one record list with tabs, search and pages, values at their precision;
 *   confirmations before revoking (copies fetched stay) and before granting to an unknown address,
 *   focus back where it was; access history in names and words, filtered and paged, Maria's own views
 *   hidden; at 375 px the records are cards and nothing scrolls sideways.
 * Screenshots go to test-artifacts/portal/readable-*.png.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DemoAccount, type DemoUsers, loadDemoUsers } from '../../src/cli/commands/demo-users.js';
import type { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { startDemoConsortium } from '../support/start-demo-consortium.js';
import { ensurePortalBuilt, launchChromium, openMenuLink, screenshot, signIn } from './portal-harness.js';

const HOSPITAL = 'Riverside General Hospital';
const LAB = 'Northside Clinical Laboratory';
const PHARMACY = 'Harbor Community Pharmacy';

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-readable-'));
let dev: DevConsortium;
let users: DemoUsers;
let browser: Browser;
const contexts: BrowserContext[] = [];
let hospital: string;
let lab: string;
let hospitalAddress: string;
let patientAtHospital: string;
let maria: Page;

const account = (name: string) => users.accounts.find((a) => a.username === name) as DemoAccount;
const getJson = async <T>(url: string): Promise<T> => {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
};

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
const focusedId = (page: Page) => page.evaluate<string>("document.activeElement?.id ?? ''");

beforeAll(async () => {
  await ensurePortalBuilt();
  dev = await startDemoConsortium(dataDir, { seedDemoRecords: true });
  users = loadDemoUsers(dataDir);
  const records = JSON.parse(readFileSync(join(dataDir, 'demo-records.json'), 'utf8')) as {
    patientIds: { hospital: string };
  };
  patientAtHospital = records.patientIds.hospital;
  hospital = dev.node('hospital').url;
  lab = dev.node('lab').url;
  const { members } = await getJson<{ members: { name: string; address: string; logOrigin: string }[] }>(
    `${hospital}/ledger/members`,
  );
  hospitalAddress = members.find((m) => m.name === HOSPITAL)?.address as string;
  browser = await launchChromium();
  // The hospital keeps a version only once the sender's log is anchored on the ledger (every 10 s).
  for (const member of members) {
    const deadline = Date.now() + 60_000;
    const anchored = async () =>
      (
        await getJson<{ anchors: unknown[] }>(
          `${hospital}/ledger/anchors?origin=${encodeURIComponent(member.logOrigin)}`,
        )
      ).anchors.length > 0;
    while (!(await anchored())) {
      if (Date.now() > deadline) throw new Error(`no anchored checkpoint of ${member.name}'s log`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}, 240_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  await browser?.close();
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('issue 22 in the browser: a lab-only grant and a readable portal', () => {
  it('one record list: tabs, search, pages, values at their precision', async () => {
    maria = await newPage();
    await signIn(maria, hospital, account('maria.rivera'));
    await maria.getByRole('heading', { name: 'My records', level: 1 }).waitFor({ timeout: 20_000 });
    const table = maria.locator('#records-table');
    await table.waitFor({ timeout: 20_000 });
    expect(await maria.getByRole('tab', { name: /^All \(\d+\)$/ }).getAttribute('aria-selected')).toBe(
      'true',
    );
    // Synthea's raw values ("162.4453053111811 cm") are rounded.
    expect(await table.textContent()).not.toMatch(/\d\.\d{4,}/);
    expect(await table.textContent()).not.toMatch(/\{[a-z]+\}/);
    // Each record once.
    const keys = await table
      .locator('tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-key')));
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.length).toBeLessThanOrEqual(20);
    const count = (await maria.locator('#record-count').textContent()) ?? '';
    const total = Number(/of (\d+) record/.exec(count)?.[1]);
    if (total > 20) {
      await maria.locator('#page-next').click();
      expect(await focusedId(maria)).toMatch(/^page-(next|prev)$/);
      expect(await maria.locator('#record-count').textContent()).toContain('Showing 21–');
    }
    const vitals = maria.getByRole('tab', { name: /^Vital signs/ });
    if ((await vitals.count()) > 0) {
      await vitals.click();
      expect(await focusedId(maria)).toBe('tab-vitals');
      const tabs = await table
        .locator('tbody tr')
        .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-tab')));
      expect(new Set(tabs)).toEqual(new Set(['vitals']));
    }
    await maria.getByRole('tab', { name: /^All \(/ }).click();
    await maria.getByLabel('Search your records').fill('zzz-no-such-record');
    expect(await maria.locator('#record-count').textContent()).toBe('No records match.');
    await maria.getByLabel('Search your records').fill('');
    expect(pageErrors(maria)).toEqual([]);
    await screenshot(maria, 'readable-1-records');
  }, 120_000);

  it('item 1: the default lab-only grant says what it does, and moves the lab results', async () => {
    await maria.getByRole('link', { name: 'Sharing' }).first().click();
    await maria.locator('#grant-form').waitFor({ timeout: 20_000 });
    await maria.getByRole('combobox', { name: 'Who may see your records' }).selectOption({ label: HOSPITAL });
    expect(await maria.getByRole('checkbox', { name: 'Laboratory results', exact: true }).isChecked()).toBe(
      true,
    );
    expect(await maria.getByRole('checkbox', { name: 'Demographics', exact: true }).isChecked()).toBe(false);
    const summary = (await maria.locator('#grant-summary').textContent()) ?? '';
    expect(summary).toContain(
      `${HOSPITAL} will be able to recognise you at each member by your ledger address only`,
    );
    expect(summary).toContain('receive your laboratory results, for your treatment');
    expect(summary).toContain('Copies a member has already fetched stay with that member');
    await maria.getByRole('button', { name: 'Sign and grant access' }).click();
    await maria.getByLabel('Keystore passphrase').fill(users.patientKeystorePassphrase);
    await maria.getByRole('button', { name: 'Unlock key' }).click();
    await maria.locator('#consent-status .msg-ok').waitFor({ timeout: 60_000 });
    // Focus is on the result, not lost to the top of a re-drawn page.
    expect(await focusedId(maria)).toBe('consent-status');
    const grants = maria.locator('#grants-table');
    expect(await grants.textContent()).toContain('for your treatment');
    expect(await grants.textContent()).toContain('Laboratory results');
    const grant = await getJson<{ grants: { patient: string; revokedAt: number | null }[] }>(
      `${hospital}/ledger/consent/grants?grantee=${hospitalAddress}`,
    );
    const patient = grant.grants.find((g) => g.revokedAt === null)?.patient as string;
    await expect
      .poll(
        async () =>
          (
            await getJson<{ allowed: boolean }>(
              `${lab}/ledger/consent/check?patient=${patient}&grantee=${hospitalAddress}&category=laboratory&purpose=TREAT`,
            )
          ).allowed,
        { timeout: 30_000, interval: 250 },
      )
      .toBe(true);

    const doctor = await newPage();
    await signIn(doctor, hospital, account('dr.grey'));
    await doctor.goto(`${hospital}/portal/#/chart/${patientAtHospital}`);
    await doctor.getByRole('heading', { name: /^Chart: Maria/, level: 1 }).waitFor({ timeout: 20_000 });
    await doctor.getByRole('button', { name: 'Fetch records from other members' }).click();
    const report = doctor.locator('#fetch-members-report');
    await report.waitFor({ timeout: 60_000 });
    const fromLab = report.locator('li').filter({ hasText: LAB });
    expect(await fromLab.getAttribute('data-status')).toBe('ok');
    const labText = (await fromLab.textContent()) ?? '';
    expect(Number(/kept (\d+)/.exec(labText)?.[1])).toBeGreaterThan(0);
    expect(labText).toContain(
      "The patient's grant covers Laboratory results for treatment; the patient was matched by ledger address only (no demographics).",
    );
    const fromPharmacy = (await report.locator('li').filter({ hasText: PHARMACY }).textContent()) ?? '';
    expect(fromPharmacy).toContain('kept 0');
    // In the chart's one record list: the lab's results, nothing from the pharmacy, and only results.
    const from = doctor.locator('#record-from');
    await expect.poll(() => from.locator('option').allTextContents(), { timeout: 20_000 }).toContain(LAB);
    expect(await from.locator('option').allTextContents()).not.toContain(PHARMACY);
    await from.selectOption(LAB);
    const kinds = await doctor
      .locator('#records-table tbody tr')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-tab')));
    expect(new Set(kinds)).toEqual(new Set(['results']));
    expect(pageErrors(doctor)).toEqual([]);
    await screenshot(doctor, 'readable-2-lab-only-fetch');
  }, 180_000);

  it('confirms before revoking (copies stay) and before granting to an unknown address; focus returns', async () => {
    await maria.bringToFront();
    const revoke = maria.getByRole('button', { name: `Revoke the grant to ${HOSPITAL}` });
    await revoke.click();
    const dialog = maria.getByRole('alertdialog');
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(
      `Copies of your records that ${HOSPITAL} already fetched stay with`,
    );
    expect(await maria.evaluate<string>('document.activeElement?.textContent')).toBe('Cancel');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    expect(await maria.evaluate<string>("document.activeElement?.getAttribute('aria-label')")).toBe(
      `Revoke the grant to ${HOSPITAL}`,
    );
    await revoke.click();
    await maria.getByRole('alertdialog').getByRole('button', { name: 'Revoke' }).click();
    await maria.getByText(new RegExp(`Revoked the grant to ${HOSPITAL}`)).waitFor({ timeout: 60_000 });
    expect(await focusedId(maria)).toBe('consent-status');

    await maria.getByRole('combobox', { name: 'Who may see your records' }).selectOption({ value: 'other' });
    await maria.locator('#grantee-other').fill('0x000000000000000000000000000000000000dEaD');
    await maria.getByRole('button', { name: 'Sign and grant access' }).click();
    const unknown = maria.getByRole('alertdialog');
    await unknown.waitFor();
    expect(await unknown.textContent()).toContain('This address is not a member of the consortium');
    await unknown.getByRole('button', { name: 'Cancel' }).click();
    expect(await maria.getByRole('alertdialog').count()).toBe(0);
    await screenshot(maria, 'readable-3-confirmations');
  }, 120_000);

  it('access history in names and words, filtered and paged, without Maria’s own views', async () => {
    await maria.getByRole('link', { name: 'Access history' }).click();
    await maria.locator('#access-list-count').waitFor({ timeout: 20_000 });
    // Each visit reads the history and is recorded: her own views are hidden unless asked for.
    await maria.reload();
    const count = maria.locator('#access-list-count');
    await count.waitFor({ timeout: 20_000 });
    expect(await count.textContent()).toMatch(/of your own views hidden/);
    const list = maria.locator('#access-list');
    const text = (await list.textContent()) ?? '';
    expect(text).not.toMatch(/Practitioner\/|Organization\/0x|Patient\//);
    expect(text).not.toMatch(/\bTREAT\b/);
    expect(await list.locator('li[data-who="You"]').count()).toBe(0);
    expect(await list.locator('li').count()).toBeLessThanOrEqual(20);
    await maria.getByLabel('Show my own views').check();
    expect(await list.locator('li[data-who="You"]').count()).toBeGreaterThan(0);
    await maria.getByLabel('Outcome').selectOption('allowed');
    expect(await list.locator('li:not([data-outcome="0"]):not([data-outcome=""])').count()).toBe(0);
    expect(pageErrors(maria)).toEqual([]);
    await screenshot(maria, 'readable-4-access-history');
  }, 120_000);

  it('at 375 px the records are cards and nothing scrolls sideways', async () => {
    // The same signed-in tab at a phone's width (a second sign-in would need a fresh TOTP step).
    const phone = maria;
    await phone.setViewportSize({ width: 375, height: 800 });
    await openMenuLink(phone, 'My records');
    await phone.locator('#records-table').waitFor({ timeout: 20_000 });
    expect(
      await phone.evaluate<string>(
        "getComputedStyle(document.querySelector('#records-table tbody tr')).display",
      ),
    ).toBe('block');
    expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await openMenuLink(phone, 'Sharing');
    await phone.locator('#grant-form').waitFor({ timeout: 20_000 });
    expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    await screenshot(phone, 'readable-5-phone-sharing');
    await openMenuLink(phone, 'Access history');
    await phone.locator('#access-list-count').waitFor({ timeout: 20_000 });
    expect(await phone.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    expect(pageErrors(phone)).toEqual([]);
    await screenshot(phone, 'readable-5-phone-access');
  }, 120_000);
});
