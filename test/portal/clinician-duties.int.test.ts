/**
 * Issue 22 "For clinicians", in Debian's chromium against the demo consortium: Dr Grey decides Maria's
 * amendment and refill requests from the "Patient requests" worklist, marks a result entered in error and
 * amends another from the chart (each with a reason, a new version in `_history`), opens break-glass; the
 * privacy officer's review card shows the stated reason and what was opened; Maria reads "Dr Meredith
 * Grey" (her Practitioner resource, linked by the account's fhirUser) in her messages and access history.
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
  nextTotp,
  screenshot,
  seedRecords,
  signIn,
} from './portal-harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-portal-clinician-'));
const DR = 'Practitioner/dr-grey';
let dev: DevConsortium;
let users: DemoUsers;
let browser: Browser;
let hospital: string;
let patientId: string;
let doctor: Page;

const account = (name: string) => users.accounts.find((a) => a.username === name) as DemoAccount;

async function call<T>(path: string, who: string, body?: unknown, method = 'POST'): Promise<T> {
  const response = await fetch(`${hospital}${path}`, {
    method: body === undefined ? 'GET' : method,
    headers: { 'x-careledger-identity': who, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

type Bundle = { entry?: { resource: Record<string, unknown> & { id: string } }[] };

beforeAll(async () => {
  await ensurePortalBuilt();
  dev = await startDemoConsortium(dataDir);
  users = dev.demoUsers as DemoUsers;
  hospital = dev.node('hospital').url;
  patientId = account('maria.rivera').fhirUser.slice('Patient/'.length);
  await seedRecords(hospital, patientId);
  // The account's fhirUser names this resource: the link from the account to the person's name
  // (the call the demo seeding makes, NOTES-PORTAL.md).
  await call(
    '/fhir/Practitioner/dr-grey',
    'Practitioner/registrar',
    {
      resourceType: 'Practitioner',
      id: 'dr-grey',
      active: true,
      name: [{ use: 'official', prefix: ['Dr'], given: ['Meredith'], family: 'Grey' }],
    },
    'PUT',
  );
  const subject = `Patient/${patientId}`;
  const conditions = await fhirAs<Bundle>(hospital, DR, `/Condition?patient=${patientId}`);
  const medications = await fhirAs<Bundle>(hospital, DR, `/MedicationRequest?patient=${patientId}`);
  const maria = { 'x-careledger-identity': subject };
  await call('/patient-rights/amendments', maria['x-careledger-identity'], {
    focus: `Condition/${conditions.entry?.[0]?.resource.id}`,
    reason: 'I was told this was prediabetes, not diabetes.',
  });
  await call('/patient-rights/refills', subject, {
    medicationRequest: `MedicationRequest/${medications.entry?.[0]?.resource.id}`,
    note: 'Running out next week.',
  });
  await call('/patient-rights/appointments', subject, { reason: 'Blood pressure check' });
  await call('/patient-rights/messages', subject, { text: 'Can I take ibuprofen with metformin?' });
  await fhirAs(hospital, DR, '/Communication', {
    resourceType: 'Communication',
    status: 'completed',
    subject: { reference: subject },
    sender: { reference: DR },
    recipient: [{ reference: subject }],
    sent: new Date().toISOString(),
    payload: [{ contentString: 'Your results look better.' }],
  });
  browser = await launchChromium();
  doctor = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  await signIn(doctor, hospital, account('dr.grey'));
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('clinicians in the portal', () => {
  it('decides amendment and refill requests from the worklist', async () => {
    await doctor.getByRole('link', { name: 'Patient requests' }).click();
    const amendment = doctor.locator('[data-kind=amendment-request]').first();
    await amendment.waitFor();
    expect(await amendment.textContent()).toContain('Maria Rivera');
    expect(await amendment.textContent()).toContain('prediabetes');
    await amendment
      .getByLabel('Reason or note for the patient')
      .fill('HbA1c of 7.1% in January confirms type 2 diabetes.');
    await amendment.getByRole('button', { name: 'Deny the amendment' }).click();
    await doctor
      .locator('#requests-status')
      .getByText(/amendment denied/)
      .waitFor();

    const refill = doctor.locator('[data-kind=refill-request]').first();
    await refill.getByRole('button', { name: 'Approve the refill' }).click();
    await doctor
      .locator('#requests-status')
      .getByText(/refill approved/)
      .waitFor();
    expect(await doctor.locator('[data-kind$=-request][data-task-id]').count()).toBe(0);

    const tasks = await fhirAs<Bundle>(hospital, DR, `/Task?patient=${patientId}`);
    const byCode = (code: string) =>
      tasks.entry?.find((e) => JSON.stringify(e.resource.code).includes(code))?.resource as Record<
        string,
        unknown
      >;
    expect(byCode('amendment-request').status).toBe('rejected');
    expect(byCode('refill-request').status).toBe('completed');
    const output = (byCode('refill-request').output as { valueReference: { reference: string } }[])[0];
    expect(output?.valueReference.reference).toMatch(/^MedicationRequest\//);
  });

  it('books a requested visit and answers a patient’s message from the worklist (issue 22)', async () => {
    await doctor.goto(`${hospital}/portal/#/requests`);
    await doctor.reload();
    const visit = doctor.locator('[data-kind=visit-request]').first();
    await visit.waitFor();
    expect(await visit.textContent()).toContain('Visit request from Maria Rivera');
    expect(await visit.textContent()).toContain('Blood pressure check');
    // A visit needs a time in the future, said beside the buttons before anything is sent.
    await visit.getByRole('button', { name: 'Book the visit' }).click();
    await visit.getByText('Choose a date and time in the future for the visit.').waitFor();
    const next = new Date(Date.now() + 7 * 86_400_000);
    const local = `${next.getFullYear()}-${String(next.getMonth() + 1).padStart(2, '0')}-${String(next.getDate()).padStart(2, '0')}T09:30`;
    await visit.getByLabel('Date and time of the visit').fill(local);
    await visit.getByRole('button', { name: 'Book the visit' }).click();
    await doctor
      .locator('#requests-status')
      .getByText(/Maria Rivera: visit booked for/)
      .waitFor();
    expect(await doctor.evaluate<string | undefined>('document.activeElement?.id')).toBe('requests-status');

    const message = doctor.locator('[data-kind=patient-message]').first();
    expect(await message.textContent()).toContain('Can I take ibuprofen with metformin?');
    await message.getByLabel('Your reply').fill('Better paracetamol; ibuprofen can upset your kidneys.');
    await message.getByRole('button', { name: 'Send the reply' }).click();
    await doctor.locator('#requests-status').getByText('Maria Rivera: reply sent.').waitFor();
    expect(await doctor.locator('[data-kind=patient-message]').count()).toBe(0);

    const appointments = await fhirAs<Bundle>(hospital, DR, `/Appointment?patient=${patientId}`);
    const booked = appointments.entry?.[0]?.resource as Record<string, unknown>;
    expect(booked.status).toBe('booked');
    expect(JSON.stringify(booked.participant)).toContain(DR);
    const replies = await fhirAs<Bundle>(hospital, DR, `/Communication?patient=${patientId}`);
    expect(JSON.stringify(replies)).toContain('Better paracetamol');
  });

  it('says a chart link to no patient in words, with the way back (no id, no HTTP status)', async () => {
    await doctor.goto(`${hospital}/portal/#/chart/no-such-patient`);
    await doctor.reload();
    await doctor.getByText('No patient was found at this address.').waitFor();
    const text = (await doctor.locator('main').textContent()) ?? '';
    expect(text).not.toMatch(/HTTP|no-such-patient|Patient\//);
    await doctor.getByRole('link', { name: 'Search for the patient again' }).click();
    await doctor.getByRole('heading', { name: 'Patients', level: 1 }).waitFor();
  });

  it('marks a result entered in error and amends another from the chart, each a new audited version', async () => {
    await doctor.goto(`${hospital}/portal/#/chart/${patientId}`);
    await doctor.getByRole('heading', { name: 'Chart: Maria Rivera', level: 1 }).waitFor();
    await doctor.getByRole('tab', { name: /^Test results/ }).click();
    const corrects = doctor.getByRole('button', { name: /^Correct Glucose/ });
    await corrects.first().click();
    // Which of the three glucose results: the dialog says its date in words (issue 22).
    expect(await doctor.locator('#correction-h').textContent()).toMatch(
      /^Correct: Glucose .* of \d{1,2} [A-Z][a-z]{2} 2026$/,
    );
    await doctor.locator('#correct-reason').fill('Sample was from another patient (label mix-up).');
    await doctor.getByRole('button', { name: 'Save the correction' }).click();
    await doctor
      .locator('#correction-status')
      .getByText(/marked entered in error \(version 2\)/)
      .waitFor();
    expect(await doctor.locator('#records-table').textContent()).toContain('entered in error');
    // Focus is on the result, beside the list the clinician used.
    expect(await doctor.evaluate<string | undefined>('document.activeElement?.id')).toBe('correction-status');

    await doctor.getByRole('tab', { name: /^Test results/ }).click();
    await doctor
      .getByRole('button', { name: /^Correct Glucose/ })
      .first()
      .click();
    await doctor.getByLabel('Amend it').check();
    await doctor.getByLabel('Corrected value').fill('99');
    await doctor.locator('#correct-reason').fill('Transcription error: the analyser printed 99 mg/dL.');
    await doctor.getByRole('button', { name: 'Save the correction' }).click();
    await doctor
      .locator('#correction-status')
      .getByText(/amended \(version 2\)/)
      .waitFor();
    await screenshot(doctor, 'chart-corrections');

    const observations = await fhirAs<Bundle>(hospital, DR, `/Observation?patient=${patientId}`);
    const wrong = observations.entry?.find((e) => e.resource.status === 'entered-in-error')?.resource;
    expect(wrong).toBeDefined();
    const history = await fhirAs<Bundle>(hospital, DR, `/Observation/${wrong?.id}/_history`);
    expect(history.entry?.length).toBe(2);
    expect(JSON.stringify(wrong?.extension)).toContain('label mix-up');
  });

  it('shows the privacy officer the break-glass reason and what was opened', async () => {
    await doctor.goto(`${hospital}/portal/#/chart/${patientId}`);
    await doctor.getByRole('heading', { name: 'Chart: Maria Rivera', level: 1 }).waitFor();
    await doctor.locator('#bg-reason').fill('Collapsed in the waiting room, unresponsive');
    await doctor
      .getByRole('textbox', { name: 'One-time code from your authenticator app' })
      .fill(nextTotp(account('dr.grey').totpSecret));
    await doctor.getByRole('button', { name: 'Open emergency access' }).click();
    await doctor.getByText(/Emergency access is open until/).waitFor();

    const officer = await (await browser.newContext()).newPage();
    await signIn(officer, hospital, account('privacy.officer'));
    const card = officer.locator('#review-list > li').first();
    await card.waitFor();
    const text = (await card.textContent()) ?? '';
    expect(text).toContain('Collapsed in the waiting room, unresponsive');
    expect(text).toContain('Dr Meredith Grey');
    expect(text).toContain('Maria Rivera'); // whom the access concerns, by name
    expect(await card.locator('.bg-accesses li').count()).toBeGreaterThan(0);
    // What was opened, in words: whose record, never its id (issue 22).
    expect(await card.locator('.bg-accesses').textContent()).toContain(
      'ran $everything on Maria Rivera’s whole record',
    );
    expect(text).not.toMatch(/Patient\/|Practitioner\/|AuditEvent\//);
    await screenshot(officer, 'review-card-reason');

    // The review is recorded; the table of reviewed sessions names the patient, at a 375 px phone too.
    await officer.setViewportSize({ width: 375, height: 800 });
    await card.getByRole('radio', { name: 'Justified', exact: true }).check();
    await card.getByRole('textbox', { name: 'Review note' }).fill('Emergency confirmed by the ED record.');
    await card.getByRole('button', { name: 'Record review' }).click();
    await officer.locator('#review-status .msg-ok').waitFor();
    expect(await officer.evaluate<string | undefined>('document.activeElement?.id')).toBe('review-status');
    const reviewed = officer.getByRole('table', { name: 'Reviewed sessions' });
    const row = reviewed.locator('tbody tr').first();
    expect(await row.locator('td[data-label=Patient]').textContent()).toBe('Maria Rivera');
    expect(await row.locator('td[data-label=Clinician]').textContent()).toContain('Dr Meredith Grey');
    expect(await row.locator('td[data-label=Outcome]').textContent()).toBe('Justified');
    expect(await officer.locator('main').textContent()).not.toMatch(/Patient\/|Practitioner\/|AuditEvent\//);
    // The caption spans the cards, not a one-word-wide column beside them.
    const caption = await reviewed.locator('caption').boundingBox();
    expect(caption?.width ?? 0).toBeGreaterThan(300);
    expect(
      await officer.evaluate<number>('document.scrollingElement.scrollWidth - window.innerWidth'),
    ).toBeLessThanOrEqual(1);
    await screenshot(officer, 'review-reviewed-375px');
  });

  it('shows Maria the clinician by name in her messages and access history', async () => {
    const patient = await (await browser.newContext({ viewport: { width: 375, height: 800 } })).newPage();
    await signIn(patient, hospital, account('maria.rivera'));
    await patient.goto(`${hospital}/portal/#/visits`);
    await patient.getByText('Blood pressure check').first().waitFor();
    expect(await patient.locator('main').textContent()).toMatch(/Upcoming visits.*09:30/s);
    await patient.goto(`${hospital}/portal/#/messages`);
    await patient.getByText('Your results look better.').first().waitFor();
    expect(await patient.locator('main').textContent()).toContain('Dr Meredith Grey');
    await patient.goto(`${hospital}/portal/#/access`);
    // The "who" filter lists her by name, and so do the entries (each visit is recorded with it).
    await patient.locator('option', { hasText: 'Dr Meredith Grey' }).first().waitFor({ state: 'attached' });
    const entries = (await patient.locator('main').textContent()) ?? '';
    expect(entries.split('Dr Meredith Grey').length).toBeGreaterThan(2);
    expect(await patient.locator('main').textContent()).not.toContain('Practitioner/dr-grey');
  });
});
