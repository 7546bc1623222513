/**
 * Helpers for the portal's browser tests: Debian's chromium through playwright-core, sign-in through
 * the node's own SMART sign-in page with a TOTP code, records seeded through the FHIR API.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { buildPortal, portalPublicDir } from '../../scripts/build-portal.js';
import { generateTotp, TOTP_PERIOD_SECONDS } from '../../src/identity/totp.js';

export const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts', 'portal');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Checked when a portal test file loads, before it starts a demo consortium: without chromium each
// file fails at once with this one line, not after a 23 s start and a stack per test.
if (!existsSync(CHROMIUM)) {
  throw new Error(
    `the portal tests need Debian's chromium, and there is none at ${CHROMIUM}: run \`bash scripts/install-system-deps.sh\` (or set CHROMIUM_PATH)`,
  );
}

/** The newest modification time of the files under `dir` (0 when there are none). */
function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds the portal unless `dist/portal/public` is newer than every source of the browser app. A
 * build empties the folder first, so two test files building at once could serve a half-written
 * portal to each other's nodes: a file that only needs a current build should call this.
 */
export async function ensurePortalBuilt(): Promise<void> {
  const index = join(portalPublicDir, 'index.html');
  const sources = join(import.meta.dirname, '..', '..', 'src', 'portal', 'app');
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(sources)) return;
  await buildPortal({ quiet: true });
}

export async function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * One TOTP code per time step and user: the node refuses a step it already accepted (RFC 6238 §5.2)
 * and accepts one step either side of now, so a second code in the same step is the next step's.
 */
const lastStep = new Map<string, number>();
export function nextTotp(secret: string, now = Date.now()): string {
  const current = Math.floor(now / 1000 / TOTP_PERIOD_SECONDS);
  const step = Math.max(current, (lastStep.get(secret) ?? -1) + 1);
  if (step > current + 1) throw new Error('no fresh TOTP step left for this user in this 30 s window');
  lastStep.set(secret, step);
  return generateTotp(secret, step * TOTP_PERIOD_SECONDS * 1000);
}

export interface Account {
  readonly username: string;
  readonly password: string;
  readonly totpSecret: string;
}

/** Opens the portal, signs in through the node's sign-in page and waits for the signed-in home. */
export async function signIn(page: Page, base: string, account: Account): Promise<void> {
  await page.goto(`${base}/portal/`);
  await page.getByRole('button', { name: 'Sign in', exact: true }).first().click();
  await page.waitForURL(/\/oauth\/authorize/, { timeout: 15_000 });
  await page.getByLabel('Username').fill(account.username);
  await page.getByLabel('Password').fill(account.password);
  await page.getByLabel('One-time code').fill(nextTotp(account.totpSecret));
  await page.getByRole('button', { name: 'Sign in and allow' }).click();
  // Attached, not visible: on a phone "Sign out" is in the folded menu (hidden from the role tree).
  await page
    .getByRole('button', { name: 'Sign out', includeHidden: true })
    .waitFor({ state: 'attached', timeout: 15_000 });
}

/**
 * Follows a link of the main menu as a person does at any width: on a phone the menu is folded behind
 * the "Menu" button (menu-toggle.ts), which is opened first.
 */
export async function openMenuLink(page: Page, name: string | RegExp): Promise<void> {
  const toggle = page.locator('#menu-toggle');
  if ((await toggle.isVisible()) && (await toggle.getAttribute('aria-expanded')) !== 'true') {
    await toggle.click();
  }
  await page
    .getByRole('navigation', { name: 'Main' })
    .getByRole('link', { name, ...(typeof name === 'string' ? { exact: true } : {}) })
    .click();
}

/** FHIR calls with the demo's development identity header (a clinician, for seeding). */
export async function fhirAs<T = Record<string, unknown>>(
  base: string,
  who: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<T> {
  const response = await fetch(`${base}/fhir${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'x-careledger-identity': who, 'content-type': 'application/fhir+json', ...extraHeaders },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

const LAB = {
  coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
};

/** A small chart for the demo patient: three glucose results, a condition, a medication, an immunization, a note. */
export async function seedRecords(base: string, patientId: string): Promise<void> {
  const who = 'Practitioner/dr-grey';
  const subject = { reference: `Patient/${patientId}` };
  for (const [date, value] of [
    ['2026-01-10T08:00:00Z', 112],
    ['2026-04-12T08:00:00Z', 104],
    ['2026-07-15T08:00:00Z', 97],
  ] as const) {
    await fhirAs(base, who, '/Observation', {
      resourceType: 'Observation',
      status: 'final',
      category: [LAB],
      code: {
        coding: [
          { system: 'http://loinc.org', code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma' },
        ],
      },
      subject,
      effectiveDateTime: date,
      valueQuantity: { value, unit: 'mg/dL', system: 'http://unitsofmeasure.org', code: 'mg/dL' },
    });
  }
  await fhirAs(base, who, '/Condition', {
    resourceType: 'Condition',
    clinicalStatus: {
      coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
    },
    code: {
      coding: [{ system: 'http://snomed.info/sct', code: '44054006', display: 'Type 2 diabetes mellitus' }],
    },
    subject,
    recordedDate: '2026-01-10',
  });
  await fhirAs(base, who, '/MedicationRequest', {
    resourceType: 'MedicationRequest',
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: { text: 'Metformin 500 mg oral tablet' },
    subject,
    authoredOn: '2026-01-10',
    dosageInstruction: [{ text: 'One tablet twice a day with meals' }],
  });
  await fhirAs(base, who, '/Immunization', {
    resourceType: 'Immunization',
    status: 'completed',
    vaccineCode: {
      coding: [{ system: 'http://hl7.org/fhir/sid/cvx', code: '141', display: 'Influenza, seasonal' }],
    },
    patient: subject,
    occurrenceDateTime: '2025-10-01',
  });
  await fhirAs(base, who, '/DocumentReference', {
    resourceType: 'DocumentReference',
    status: 'current',
    type: { coding: [{ system: 'http://loinc.org', code: '11506-3', display: 'Progress note' }] },
    subject,
    date: '2026-07-15T09:00:00Z',
    description: 'Diabetes follow-up',
    content: [
      {
        attachment: {
          contentType: 'text/plain',
          data: Buffer.from('Glucose improving on metformin.').toString('base64'),
        },
      },
    ],
  });
}
