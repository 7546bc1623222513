/**
 * Issue 22 "Telehealth share" (decision 0030), in Debian's chromium against the demo consortium: Maria
 * shares chosen kinds of record for some hours; an outside clinician with no account opens the link,
 * is refused a wrong code, opens it with the right one, reads the records and the patient summary whose
 * signature the page checks against /.well-known/careledger-document-signer; Maria sees when it was
 * opened and read, revokes it, and the clinician's open page then says the share has ended. A code
 * works once. Desktop and a 375-pixel phone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoAccount, DemoUsers } from '../../src/cli/commands/demo-users.js';
import type { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { startDemoConsortium } from '../support/start-demo-consortium.js';
import { ensurePortalBuilt, launchChromium, screenshot, seedRecords, signIn } from './portal-harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-portal-share-'));
let dev: DevConsortium;
let users: DemoUsers;
let browser: Browser;
let hospital: string;
let patient: Page;

const account = (name: string) => users.accounts.find((a) => a.username === name) as DemoAccount;

beforeAll(async () => {
  await ensurePortalBuilt();
  dev = await startDemoConsortium(dataDir);
  users = dev.demoUsers as DemoUsers;
  hospital = dev.node('hospital').url;
  await seedRecords(hospital, account('maria.rivera').fhirUser.slice('Patient/'.length));
  browser = await launchChromium();
  patient = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await signIn(patient, hospital, account('maria.rivera'));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Maria creates a share on her Telehealth shares page: answers the link and the code shown once. */
async function createShare(recipient: string): Promise<{ link: string; code: string }> {
  await patient.goto(`${hospital}/portal/#/telehealth`);
  await patient.reload();
  await patient.getByRole('heading', { name: 'Share with a clinician' }).waitFor();
  await patient.getByLabel('Clinician').fill(recipient);
  await patient.getByLabel('Why').fill('Second opinion on my diabetes treatment');
  await patient.getByLabel('Laboratory results').check();
  await patient.getByLabel('For how long').selectOption('8');
  await patient.getByRole('button', { name: 'Create the link and code' }).click();
  await patient.locator('#share-created').waitFor();
  const link = await patient.locator('#share-link').inputValue();
  const code = (await patient.locator('#share-code').textContent()) ?? '';
  return { link, code };
}

async function openAsRecipient(link: string, width = 1280): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width, height: 900 } })).newPage();
  await page.goto(link);
  await page.getByRole('heading', { name: 'A patient shared their record with you' }).waitFor();
  return page;
}

describe('telehealth share in the portal', () => {
  it('says what to fix beside each empty field, focus on the first', async () => {
    await patient.goto(`${hospital}/portal/#/telehealth`);
    await patient.reload();
    await patient.getByRole('heading', { name: 'Share with a clinician' }).waitFor();
    await patient.getByRole('button', { name: 'Create the link and code' }).click();
    await patient.locator('#share-recipient-error').waitFor();
    expect(await patient.locator('#share-recipient-error').textContent()).toBe(
      'Name the clinician you share with.',
    );
    expect(await patient.locator('#share-purpose-error').textContent()).toContain('Say why you share');
    expect(await patient.getByLabel('Clinician').getAttribute('aria-invalid')).toBe('true');
    expect(await patient.evaluate<string | undefined>('document.activeElement?.id')).toBe('share-recipient');
  });

  it('shares, refuses a wrong code, shows records and a checked summary, and ends on revocation', async () => {
    const { link, code } = await createShare('Dr Ana Costa, Lisbon');
    expect(link).toMatch(/\/portal\/#\/shared\/[A-Za-z0-9_-]+\/[A-Za-z0-9_-]+$/);
    expect(code).toMatch(/^[A-Z0-9]{10}$/);
    // The card lists the share, in force and not opened yet.
    const card = patient.locator('#shares li').first();
    expect(await card.textContent()).toContain('With Dr Ana Costa, Lisbon');
    expect(await card.textContent()).toContain('Not opened yet');

    const clinician = await openAsRecipient(link);
    await clinician.getByLabel('Code from the patient').fill('WRONGCODE2');
    await clinician.getByRole('button', { name: 'Open the shared record' }).click();
    await clinician.getByText('the code is not right').waitFor();

    await clinician.getByLabel('Code from the patient').fill(code);
    await clinician.getByRole('button', { name: 'Open the shared record' }).click();
    await clinician.getByRole('heading', { name: 'Shared record' }).waitFor();
    const records = (await clinician.locator('#records-table').textContent()) ?? '';
    expect(records).toContain('Metformin');
    expect(records).toContain('Glucose');
    // The clinical note was not shared (Clinical notes not chosen).
    expect(records).not.toContain('Diabetes follow-up');

    await clinician.getByRole('button', { name: 'Get the signed patient summary' }).click();
    await clinician.locator('#share-summary-view').waitFor();
    const summary = (await clinician.locator('#share-summary-view').textContent()) ?? '';
    expect(summary).toContain('Signature valid');
    expect(summary).toContain('careledger-document-signer');
    await screenshot(clinician, 'share-recipient-desktop');

    // Maria sees when it was opened and that it was read, then revokes it after confirming.
    await patient.reload();
    const opened = patient.locator('#shares li').first();
    await opened.getByText(/Opened with the code on/).waitFor();
    expect(await opened.textContent()).toMatch(/Read \d+ times? through this share/);
    await opened.getByRole('button', { name: /Revoke the share with Dr Ana Costa/ }).click();
    await patient.getByRole('alertdialog').getByRole('button', { name: 'Revoke' }).click();
    await patient
      .locator('#share-status')
      .getByText('The share with Dr Ana Costa, Lisbon is revoked.')
      .waitFor();
    expect(await patient.locator('#shares li').first().getAttribute('data-state')).toBe('revoked');
    await screenshot(patient, 'share-patient-desktop');

    // The clinician's open page: the next read finds the share ended.
    await clinician.reload();
    await clinician.getByText('This share has ended').waitFor();
    expect(await clinician.locator('#records-table').count()).toBe(0);

    // Her access history names the share's reader, not an id.
    await patient.getByRole('link', { name: 'Access history' }).click();
    await patient
      .getByText(/Dr Ana Costa, Lisbon/)
      .first()
      .waitFor();
    // What she read is what was shared, not "all your records" (issue 22: words a patient can trust).
    const history = (await patient.locator('#access-list').textContent()) ?? '';
    expect(history).toContain('Dr Ana Costa, Lisbon (telehealth share) opened the records you shared');
    expect(history).not.toMatch(/telehealth share\) opened all your records/);
  });

  it('opens once: a second use of the code is refused; the pages fit a 375-pixel phone', async () => {
    const { link, code } = await createShare('Dr Ben Okafor');
    await patient.setViewportSize({ width: 375, height: 800 });
    const patientOverflow = await patient.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(patientOverflow).toBeLessThanOrEqual(0);
    await screenshot(patient, 'share-patient-phone');
    await patient.setViewportSize({ width: 1280, height: 900 });

    const first = await openAsRecipient(link, 375);
    // By keyboard: the code field, Enter submits.
    await first.getByLabel('Code from the patient').fill(code.toLowerCase());
    await first.keyboard.press('Enter');
    await first.getByRole('heading', { name: 'Shared record' }).waitFor();
    const overflow = await first.evaluate<number>(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(first, 'share-recipient-phone');

    const second = await openAsRecipient(link);
    await second.getByLabel('Code from the patient').fill(code);
    await second.getByRole('button', { name: 'Open the shared record' }).click();
    await second.getByText('already been opened').waitFor();
  });
});
