/**
 * Issue 22 "What a patient portal has", messages, visits and refills, in Debian's chromium against
 * the demo consortium, at desktop and at a 375-pixel phone: Maria writes to her care team, Dr Grey
 * replies (FHIR Communication, inResponseTo), Maria sees one unread message until she opens the
 * thread; she asks for a visit (a proposed Appointment), sees her booked visit, and asks for a refill
 * of her active prescription.
 */
import { mkdtempSync, rmSync } from 'node:fs';
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

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-portal-messages-'));
let dev: DevConsortium;
let users: DemoUsers;
let browser: Browser;
let hospital: string;
let patientId: string;

const account = (name: string) => users.accounts.find((a) => a.username === name) as DemoAccount;
const DR = 'Practitioner/dr-grey';

beforeAll(async () => {
  await ensurePortalBuilt();
  dev = await startDemoConsortium(dataDir);
  users = dev.demoUsers as DemoUsers;
  hospital = dev.node('hospital').url;
  patientId = account('maria.rivera').fhirUser.slice('Patient/'.length);
  const subject = { reference: `Patient/${patientId}` };
  await fhirAs(hospital, DR, '/MedicationRequest', {
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: {
      coding: [
        {
          system: 'http://www.nlm.nih.gov/research/umls/rxnorm',
          code: '314076',
          display: 'Lisinopril 10 MG Oral Tablet',
        },
      ],
    },
    subject,
    authoredOn: '2026-10-01',
    dosageInstruction: [{ text: 'One tablet each morning' }],
  });
  const start = new Date(Date.now() + 7 * 86_400_000);
  start.setUTCHours(9, 0, 0, 0);
  await fhirAs(hospital, DR, '/Appointment', {
    resourceType: 'Appointment',
    status: 'booked',
    description: 'Diabetes review',
    start: start.toISOString(),
    end: new Date(start.getTime() + 1_800_000).toISOString(),
    participant: [
      { actor: subject, status: 'accepted' },
      { actor: { reference: DR }, status: 'accepted' },
    ],
  });
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

let signedIn: Page | undefined;

/** One sign-in for the file (a TOTP step each), then the page at the width asked. */
async function open(width: number, link: string): Promise<Page> {
  if (signedIn === undefined) {
    signedIn = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await signIn(signedIn, hospital, account('maria.rivera'));
  }
  const page = signedIn;
  await page.setViewportSize({ width, height: 900 });
  await openMenuLink(page, new RegExp(`^${link}( \\(\\d+ unread\\))?$`));
  await page.getByRole('heading', { level: 1, name: link }).waitFor();
  return page;
}

describe('messages with the care team', () => {
  it('sends a message, shows the reply as unread until the thread is opened', async () => {
    const page = await open(1280, 'Messages');
    // Empty: our words beside the form, and the focus on the field to fix.
    await page.getByRole('button', { name: 'Send to your care team' }).click();
    await page.locator('#message-status').getByText('Write your message first.').waitFor();
    expect(
      await page.evaluate<string | undefined>('document.activeElement?.getAttribute("aria-label")'),
    ).toBe('Your message');
    await page.getByLabel('Your message').fill('Can I take ibuprofen with lisinopril?');
    await page.getByRole('button', { name: 'Send to your care team' }).click();
    await page.getByTestId('message-thread').first().waitFor();
    // Sent: said so, and the focus stays by the conversation (issue 22: focus kept after an action).
    await page.locator('#message-status').getByText('Your message was sent to your care team.').waitFor();
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('message-status');

    const sent = await fhirAs<{ entry?: { resource: { id: string } }[] }>(
      hospital,
      DR,
      `/Communication?subject=Patient/${patientId}`,
    );
    const first = sent.entry?.[0]?.resource.id as string;
    await fhirAs(hospital, DR, '/Communication', {
      resourceType: 'Communication',
      status: 'completed',
      subject: { reference: `Patient/${patientId}` },
      sender: { reference: DR },
      recipient: [{ reference: `Patient/${patientId}` }],
      inResponseTo: [{ reference: `Communication/${first}` }],
      sent: new Date().toISOString(),
      payload: [{ contentString: 'Better paracetamol; ibuprofen can raise blood pressure.' }],
    });
    await page.reload();
    await page.getByTestId('unread-count').waitFor();
    expect(await page.getByTestId('unread-count').textContent()).toBe('1 unread');
    // The menu counts it too, on every page (issue 22: unread counts), named for a screen reader.
    await page.getByRole('link', { name: 'Messages (1 unread)' }).waitFor();
    // On a phone the menu is folded: the "Menu" button carries the unread sum (messages and notifications).
    await page.getByTestId('menu-unread').waitFor({ state: 'attached' });
    expect(await page.getByTestId('menu-unread').textContent()).toMatch(/^([1-9]\d*) \(\1 unread\)$/);
    expect(await page.getByTestId('message-thread').count()).toBe(1);
    const opened = page.waitForResponse((r) => r.url().includes('/fhir/Communication/'));
    await page.getByTestId('message-thread').first().locator('summary').click();
    await page.getByText('Better paracetamol').waitFor();
    expect(await page.getByTestId('message-thread').first().textContent()).toContain('You,');
    await screenshot(page, 'messages-desktop');
    // Opened: read. The count is the server's, per user.
    await opened;
    await page.reload();
    await page.getByTestId('unread-count').waitFor();
    expect(await page.getByTestId('unread-count').textContent()).toBe('No unread messages.');
    await page.getByRole('link', { name: 'Messages', exact: true }).waitFor();
    expect(await page.getByTestId('messages-unread').count()).toBe(0);
  });
});

describe('visits and refills', () => {
  it('lists the booked visit, sends a visit request and a refill request', async () => {
    const page = await open(1280, 'Visits and refills');
    expect(await page.getByTestId('upcoming-visits').textContent()).toContain('Diabetes review');
    // Empty: said beside the form, focus on the field (not the browser's own bubble).
    await page.getByRole('button', { name: 'Send the request' }).click();
    await page.getByText('Say what the visit is for.').waitFor();
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('visit-reason');
    await page.getByLabel('What is it for?').fill('Blood pressure check');
    await page.getByRole('button', { name: 'Send the request' }).click();
    await page.getByTestId('proposed-visits').waitFor();
    expect(await page.getByTestId('proposed-visits').textContent()).toContain('Blood pressure check');
    const prescriptions = page.getByTestId('prescriptions');
    expect(await prescriptions.textContent()).toContain('Lisinopril 10 MG Oral Tablet');
    await page.getByRole('button', { name: 'Request a refill' }).click();
    await page.getByTestId('refill-state').waitFor();
    const tasks = await fhirAs<{
      entry?: { resource: { status: string; focus?: { reference?: string } } }[];
    }>(hospital, DR, `/Task?patient=${patientId}`);
    expect(tasks.entry?.map((e) => e.resource.status)).toEqual(['requested']);
    const appointments = await fhirAs<{ entry?: { resource: { status: string } }[] }>(
      hospital,
      DR,
      `/Appointment?patient=${patientId}`,
    );
    expect(appointments.entry?.map((e) => e.resource.status).sort()).toEqual(['booked', 'proposed']);
  });

  it('fits a 375-pixel phone without sideways scrolling', async () => {
    for (const link of ['Messages', 'Visits and refills']) {
      const page = await open(375, link);
      const overflow = await page.evaluate<number>(
        'document.documentElement.scrollWidth - document.documentElement.clientWidth',
      );
      expect(overflow).toBeLessThanOrEqual(0);
      await screenshot(page, `messages-phone-${link === 'Messages' ? 'inbox' : 'visits'}`);
    }
  });
});
