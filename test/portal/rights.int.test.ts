/**
 * Issue 22 "What a patient portal has", HIPAA rights, in Debian's chromium against the demo
 * consortium, at desktop and at a 375-pixel phone: Maria asks to amend a diagnosis, Dr Grey denies it
 * with a reason (over /patient-rights), Maria reads the reason and her right to disagree and files a
 * statement; her accounting of disclosures and a printable copy of her record are on the same page.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoAccount, DemoUsers } from '../../src/cli/commands/demo-users.js';
import type { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { startDemoConsortium } from '../support/start-demo-consortium.js';
import {
  ensurePortalBuilt,
  fhirAs,
  launchChromium,
  openMenuLink,
  screenshot,
  signIn,
} from './portal-harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-portal-rights-'));
let dev: DevConsortium;
let users: DemoUsers;
let browser: Browser;
let hospital: string;
let patientId: string;
let conditionId: string;

const account = (name: string) => users.accounts.find((a) => a.username === name) as DemoAccount;

async function asDrGrey<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(`${hospital}${path}`, {
    method: 'POST',
    headers: { 'x-careledger-identity': 'Practitioner/dr-grey', 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

beforeAll(async () => {
  await ensurePortalBuilt();
  dev = await startDemoConsortium(dataDir);
  users = dev.demoUsers as DemoUsers;
  hospital = dev.node('hospital').url;
  patientId = account('maria.rivera').fhirUser.slice('Patient/'.length);
  const condition = await fhirAs<{ id: string }>(hospital, 'Practitioner/dr-grey', '/Condition', {
    resourceType: 'Condition',
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
    code: { coding: [{ system: 'http://snomed.info/sct', code: '38341003', display: 'Hypertension' }] },
    subject: { reference: `Patient/${patientId}` },
    onsetDateTime: '2025-06-01',
  });
  conditionId = condition.id;
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

let signedIn: Page | undefined;

/** One sign-in for the file (a TOTP step each), then the page at the width asked. */
async function openRights(width: number): Promise<Page> {
  if (signedIn === undefined) {
    signedIn = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(signedIn, hospital, account('maria.rivera'));
  }
  const page = signedIn;
  await page.setViewportSize({ width, height: 900 });
  await openMenuLink(page, 'Your rights');
  await page.reload();
  await page.getByRole('heading', { name: 'Ask to amend a record' }).waitFor();
  return page;
}

describe('HIPAA rights in the portal', () => {
  it('files an amendment request, shows the denial with its reason and the right to disagree', async () => {
    const page = await openRights(1280);
    // Each record is told apart by what it is and its date in words, grouped by kind (issue 22).
    const select = page.getByLabel('Record', { exact: true });
    expect(
      await select.locator('optgroup').evaluateAll((gs) => gs.map((g) => g.getAttribute('label'))),
    ).toEqual(['Conditions']);
    expect(await select.locator(`option[value="Condition/${conditionId}"]`).textContent()).toBe(
      'Hypertension, 1 Jun 2025',
    );
    await select.selectOption(`Condition/${conditionId}`);
    await page
      .getByLabel('What is wrong, and what should it say?')
      .fill('I was never told I have hypertension.');
    await page.getByRole('button', { name: 'Send the request' }).click();
    const card = page.getByTestId('amendment-request').first();
    await card.waitFor();
    expect(await card.textContent()).toContain('Waiting for your care team');
    expect(await card.textContent()).toContain('Hypertension');

    const tasks = await fhirAs<{ entry?: { resource: { id: string } }[] }>(
      hospital,
      'Practitioner/dr-grey',
      `/Task?patient=${patientId}`,
    );
    const taskId = tasks.entry?.[0]?.resource.id as string;
    await asDrGrey(`/patient-rights/amendments/${taskId}/decision`, {
      decision: 'deny',
      reason: 'Three readings above 140/90 in 2025 support the diagnosis.',
    });
    const history = await fhirAs<{ entry?: unknown[] }>(
      hospital,
      'Practitioner/dr-grey',
      `/Condition/${conditionId}/_history`,
    );
    expect(history.entry?.length).toBe(2);

    await page.reload();
    await page.getByTestId('amendment-request').first().waitFor();
    const denied = (await page.getByTestId('amendment-request').first().textContent()) ?? '';
    expect(denied).toContain('Denied');
    expect(denied).toContain('Three readings above 140/90');
    expect(denied).toContain('statement disagreeing');
    await page.getByText('File a statement of disagreement').click();
    await page.getByLabel('Your statement of disagreement').fill('I dispute the readings.');
    await page.getByRole('button', { name: 'Send the statement' }).click();
    await page.getByText('Your statement was sent').waitFor();
    await screenshot(page, 'rights-desktop');
  });

  it('shows the accounting of disclosures and saves it and a printable copy of the record', async () => {
    const page = await openRights(1280);
    await page.getByRole('heading', { name: 'Who your records were disclosed to' }).waitFor();
    const text = (await page.locator('#disclosures').textContent()) ?? '';
    expect(text).toMatch(/No disclosures in the last six years|to /);
    const [report] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Save the printable report' }).click(),
    ]);
    const reportHtml = readFileSync((await report.path()) as string, 'utf8');
    expect(reportHtml).toContain('Accounting of disclosures');
    expect(reportHtml).toContain('Maria');
    const [copy] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Save a printable copy' }).click(),
    ]);
    const copyHtml = readFileSync((await copy.path()) as string, 'utf8');
    expect(copyHtml).toContain('Hypertension');
    expect(copyHtml).toContain('@media print');
    expect(copyHtml).not.toContain(patientId);
  });

  it('fits a 375-pixel phone without sideways scrolling', async () => {
    const page = await openRights(375);
    await page.getByTestId('amendment-request').first().waitFor();
    const overflow = await page.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'rights-phone');
  });
});
