/**
 * Issue 19 item 8 in a real browser (Debian's chromium through playwright-core): the manufacturer's
 * staff commission packs and recall a lot from the portal and see the recall's reach per member; the
 * pharmacist types DataMatrix strings and reads the verdict in words (genuine, unknown, recalled, a
 * bad check digit). Three in-process members on a real chain; staff sign in with password and TOTP.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPatientKey } from '../../src/identity/patient-keystore.js';
import { nodePaths } from '../../src/node/node-config.js';
import type { RunningNode } from '../../src/node/start-node.js';
import { formatSgtinUri } from '../../src/supply/gs1/index.js';
import { type SupplyConsortium, startSupplyConsortium } from '../support/start-supply-consortium.js';
import { type Account, ensurePortalBuilt, launchChromium, screenshot, signIn } from './portal-harness.js';

const GTIN = '09506000134352';
let c: SupplyConsortium;
let browser: Browser;
let maker: Account;
let pharmacist: Account;

/** A staff member of a node, enrolled as the demo enrols its clinician (attested key, then account). */
async function enrolStaff(node: RunningNode, dir: string, username: string): Promise<Account> {
  const token = readFileSync(nodePaths(dir).adminToken, 'utf8').trim();
  const admin = async (path: string, body: unknown) => {
    const response = await fetch(`${node.url}/admin${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
    return JSON.parse(text) as { totpSecret: string };
  };
  const key = createPatientKey();
  await admin('/practitioners', {
    practitioner: key.address,
    credentialHash: `0x${randomBytes(32).toString('hex')}`,
    qualificationCode: 'RPH',
    expiresAt: Math.floor(Date.now() / 1000) + 365 * 86_400,
  });
  const password = randomBytes(12).toString('base64url');
  const created = await admin('/users', {
    username,
    password,
    fhirUser: `Practitioner/${username.replace('.', '-')}`,
    roles: ['clinician'],
    ledgerAddress: key.address,
  });
  return { username, password, totpSecret: created.totpSecret };
}

/** Ships packs from the manufacturer to the pharmacy and receives them there (EPCIS, dev identity). */
async function shipToPharmacy(serials: string[]): Promise<void> {
  const document = (event: Record<string, unknown>) => ({
    '@context': ['https://ref.gs1.org/standards/epcis/epcis-context.jsonld'],
    type: 'EPCISDocument',
    schemaVersion: '2.0',
    creationDate: new Date().toISOString(),
    epcisBody: {
      eventList: [
        {
          type: 'ObjectEvent',
          eventTime: new Date().toISOString(),
          eventTimeZoneOffset: '+00:00',
          epcList: serials.map((s) => formatSgtinUri(GTIN, s)),
          action: 'OBSERVE',
          ...event,
        },
      ],
    },
  });
  const post = async (node: RunningNode, body: unknown) => {
    const response = await fetch(`${node.url}/epcis/capture`, {
      method: 'POST',
      headers: {
        'x-careledger-identity': 'Practitioner/logistics',
        'x-careledger-roles': 'clinician',
        'content-type': 'application/json',
      },
      body: JSON.stringify(body),
    });
    expect(response.status, await response.text()).toBe(202);
  };
  await post(
    c.manufacturer,
    document({
      bizStep: 'shipping',
      destinationList: [
        { type: 'owning_party', destination: `urn:careledger:member:${c.pharmacy.ledger.address}` },
      ],
    }),
  );
  await post(c.pharmacy, document({ bizStep: 'receiving' }));
}

/** A MedicationDispense of a pack to a new patient at the pharmacy (dev identity). */
async function dispenseAtPharmacy(serial: string): Promise<void> {
  const fhir = async (type: string, body: unknown) => {
    const response = await fetch(`${c.pharmacy.url}/fhir/${type}`, {
      method: 'POST',
      headers: {
        'x-careledger-identity': 'Practitioner/pharmacist-one',
        'x-careledger-roles': 'clinician',
        'content-type': 'application/fhir+json',
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    expect(response.status, text).toBe(201);
    return JSON.parse(text) as { id: string };
  };
  const patient = await fhir('Patient', { resourceType: 'Patient', name: [{ family: 'Epsilon' }] });
  await fhir('MedicationDispense', {
    resourceType: 'MedicationDispense',
    status: 'completed',
    contained: [
      {
        resourceType: 'Medication',
        id: 'pack',
        identifier: [
          { system: 'https://www.gs1.org/gtin', value: GTIN },
          { system: 'https://www.gs1.org/serial', value: serial },
        ],
        batch: { lotNumber: 'LW', expirationDate: '2031-06-30' },
      },
    ],
    medicationReference: { reference: '#pack' },
    subject: { reference: `Patient/${patient.id}` },
  });
}

async function checkPack(page: Page, code: string): Promise<string> {
  await page.getByLabel('Pack code (DataMatrix or GS1 Digital Link)').fill(code);
  await page.getByRole('button', { name: 'Check pack' }).click();
  const result = page.locator('#verify-result');
  await result.locator('.msg-ok, .msg-error').first().waitFor({ timeout: 20_000 });
  return (await result.innerText()).replace(/\s+/g, ' ');
}

beforeAll(async () => {
  await ensurePortalBuilt();
  c = await startSupplyConsortium();
  maker = await enrolStaff(c.manufacturer, c.dirs.manufacturer, 'quality.lead');
  pharmacist = await enrolStaff(c.pharmacy, c.dirs.pharmacy, 'pharmacist.one');
  browser = await launchChromium();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await c?.stop();
});

describe('the supply pages of the portal', () => {
  it('lets the manufacturer commission and recall, and the pharmacist read the verdict in words', async () => {
    const makerPage = await browser.newPage();
    await signIn(makerPage, c.manufacturer.url, maker);
    await makerPage.getByRole('link', { name: 'Packs and recalls' }).click();
    await makerPage.getByRole('heading', { name: 'Packs and recalls' }).waitFor();
    const commission = makerPage.locator('#commission-form');
    await commission.getByLabel('Product code (GTIN)').fill(GTIN);
    await commission.getByLabel('Serial numbers').fill('W1, W2\nW3');
    await commission.getByLabel('Batch (lot)').fill('LW');
    await commission.getByLabel('Expiry date').fill('2031-06-30');
    await commission.getByRole('button', { name: 'Commission' }).click();
    await expect
      .poll(() => makerPage.locator('#commission-result').innerText(), { timeout: 30_000 })
      .toContain('Commissioned: 3 pack(s) are on the ledger');
    await screenshot(makerPage, 'supply-manufacturer-commissioned');
    await shipToPharmacy(['W1', 'W2', 'W3']);

    // The pharmacist: the menu shows the page to a pharmacy's staff only.
    const pharmacyPage = await browser.newPage();
    await signIn(pharmacyPage, c.pharmacy.url, pharmacist);
    expect(await pharmacyPage.getByRole('link', { name: 'Packs and recalls' }).count()).toBe(0);
    await pharmacyPage.getByRole('link', { name: 'Check a pack' }).click();
    const genuine = await checkPack(pharmacyPage, `(01)${GTIN}(17)310630(10)LW(21)W1`);
    expect(genuine).toContain('Genuine pack');
    expect(genuine).toContain('this pharmacy');
    const unknown = await checkPack(pharmacyPage, `]d201${GTIN}10LW<GS>21FAKE9`);
    expect(unknown).toContain('Unknown pack');
    expect(unknown).toContain('counterfeit');
    const wrongBatch = await checkPack(pharmacyPage, `(01)${GTIN}(10)LX(21)W2`);
    expect(wrongBatch).toContain('Batch does not match');
    const badDigit = await checkPack(pharmacyPage, '(01)09506000134353(21)W1');
    expect(badDigit).toMatch(/could not be read: .*check digit/i);

    await dispenseAtPharmacy('W2');

    // The manufacturer recalls the batch; the pharmacist's next check says so.
    const recall = makerPage.locator('#recall-form');
    await recall.getByLabel('Product code (GTIN)').fill(GTIN);
    await recall.getByLabel('Batch (lot)').fill('LW');
    makerPage.once('dialog', (dialog) => void dialog.accept());
    await recall.getByRole('button', { name: 'Recall' }).click();
    await expect
      .poll(() => makerPage.locator('#recall-result').innerText(), { timeout: 30_000 })
      .toContain('Recalled batch LW');
    const recalled = await checkPack(pharmacyPage, `(01)${GTIN}(10)LW(21)W3`);
    expect(recalled).toContain('Recalled');
    expect(recalled).toContain('Do not dispense');
    await screenshot(pharmacyPage, 'supply-pharmacist-recalled');

    // Reach: the pharmacy dispensed W2 before the recall; its follower tells the patient and reports a count.
    const reach = makerPage.locator('#reach-form');
    await reach.getByLabel('Product code (GTIN)').fill(GTIN);
    await reach.getByLabel('Batch (lot)').fill('LW');
    await expect
      .poll(
        async () => {
          await reach.getByRole('button', { name: 'Show reach' }).click();
          return makerPage.locator('#reach-result').innerText();
        },
        { timeout: 60_000, interval: 1_000 },
      )
      .toContain('1 patient(s) reached in all');
    expect(await makerPage.locator('#reach-table').innerText()).toContain('Corner Pharmacy');
    await screenshot(makerPage, 'supply-manufacturer-reach');
  }, 240_000);
});
