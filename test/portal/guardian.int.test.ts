/**
 * Acting for someone in the portal (decision 0021), in a real browser against the demo consortium: the
 * demo patient, as a guardian, shows her delegate key for a ward (derived in the browser from her own
 * unlocked key), the hospital's registrar attests it, and she signs a grant for the ward with it; the
 * lab enforces it. Nothing on chain about the ward names her own address.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoAccount, DemoUsers } from '../../src/cli/commands/demo-users.js';
import type { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { findOnChain, readChainContents } from '../support/chain-scan.js';
import { startDemoConsortium } from '../support/start-demo-consortium.js';
import { ensurePortalBuilt, launchChromium, screenshot, signIn } from './portal-harness.js';

const dataDir = mkdtempSync(join(tmpdir(), 'careledger-portal-guardian-'));
let dev: DevConsortium;
let users: DemoUsers;
let browser: Browser;
let page: Page;
let hospital: string;
let lab: string;
let labAddress: string;
const ward = privateKeyToAccount(generatePrivateKey()).address;
const getJson = async <T>(url: string, headers: Record<string, string> = {}): Promise<T> =>
  (await (await fetch(url, { headers })).json()) as T;

beforeAll(async () => {
  await ensurePortalBuilt();
  dev = await startDemoConsortium(dataDir);
  users = dev.demoUsers as DemoUsers;
  hospital = dev.node('hospital').url;
  lab = dev.node('lab').url;
  const members = await getJson<{ members: { name: string; address: string }[] }>(
    `${hospital}/ledger/members`,
  );
  labAddress = members.members.find((m) => m.name.includes('Laboratory'))?.address as string;
  browser = await launchChromium();
  page = await browser.newPage();
  await signIn(page, hospital, users.accounts.find((a) => a.username === 'maria.rivera') as DemoAccount);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('acting for someone in the portal (decision 0021)', () => {
  it('a wrong keystore passphrase is said beside the field, focus back on it (not lost to the page)', async () => {
    await page.goto(`${hospital}/portal/#/key`);
    await page.getByRole('heading', { name: 'Unlock your consent key' }).waitFor();
    await page.getByRole('button', { name: 'Unlock key' }).click();
    expect(await page.locator('#keystore-passphrase-error').textContent()).toBe(
      'Type your keystore passphrase.',
    );
    await page.getByLabel('Keystore passphrase').fill('not-the-passphrase');
    await page.getByRole('button', { name: 'Unlock key' }).click();
    await page
      .locator('#keystore-passphrase-error')
      .getByText(/^Could not unlock your key/)
      .waitFor({ timeout: 45_000 });
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('keystore-passphrase');
    expect(await page.getByLabel('Keystore passphrase').getAttribute('aria-invalid')).toBe('true');
  });

  it('shows a key for the ward, signs a grant for them with it, and the lab enforces it', async () => {
    await page.getByRole('link', { name: 'Acting for someone' }).click();
    // A mistyped address is said beside its field, focus on it.
    await page.getByLabel('Their ledger address').fill('0x1234');
    await page.getByRole('button', { name: 'Show my key for them' }).click();
    expect(await page.locator('#ward-address-error').textContent()).toContain(
      'Give the ledger address of the person you act for',
    );
    expect(await page.evaluate<string | undefined>('document.activeElement?.id')).toBe('ward-address');
    await page.getByLabel('Their ledger address').fill(ward);
    await page.getByRole('button', { name: 'Show my key for them' }).click();
    await page.getByLabel('Keystore passphrase').fill(users.patientKeystorePassphrase);
    await page.getByRole('button', { name: 'Unlock key' }).click();
    await page.locator('#ward-attestation').waitFor({ timeout: 45_000 });
    const attestation = JSON.parse((await page.locator('#ward-attestation').textContent()) as string) as {
      patient: string;
      guardian: string;
      guardianSignature: string;
    };
    expect(attestation.patient).toBe(ward);
    await screenshot(page, 'guardian-key');

    // The registrar records the guardianship with that key (and its acceptance), not with her address.
    const adminToken = readFileSync(join(dataDir, 'nodes', 'hospital', 'admin.token'), 'utf8').trim();
    const attested = await fetch(`${hospital}/admin/guardians`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...attestation, notBefore: 0, notAfter: 1_900_000_000 }),
    });
    expect(attested.status, await attested.clone().text()).toBe(201);

    await page.getByRole('combobox', { name: 'Who may see their records' }).selectOption(labAddress);
    await page.getByRole('combobox', { name: 'Which records' }).selectOption('laboratory');
    await page.getByRole('combobox', { name: 'For what purpose' }).selectOption('TREAT');
    await page.getByRole('button', { name: 'Sign and grant access for them' }).click();
    const granted = page.locator('#ward-grant-out .msg-ok');
    await granted.waitFor({ timeout: 45_000 });
    expect(await granted.textContent()).toContain('Access granted to Northside Clinical Laboratory');
    await screenshot(page, 'guardian-granted');

    const check = () =>
      getJson<{ allowed: boolean; reason?: string }>(
        `${lab}/ledger/consent/check?patient=${ward}&grantee=${labAddress}&category=laboratory&purpose=TREAT`,
      );
    await expect
      .poll(async () => JSON.stringify(await check()), { timeout: 15_000 })
      .toContain('"allowed":true');

    // Her own ledger address (her Patient's enrolled key) is not her key for the ward.
    const patientId = (users.accounts.find((a) => a.username === 'maria.rivera') as DemoAccount).fhirUser;
    const patient = await getJson<{ identifier?: { system: string; value: string }[] }>(
      `${hospital}/fhir/${patientId}`,
      { 'x-careledger-identity': 'Practitioner/dr-1' },
    );
    const own = patient.identifier?.find((i) => i.system.endsWith('ledger-address'))?.value as `0x${string}`;
    expect(own).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(own.toLowerCase()).not.toBe(attestation.guardian.toLowerCase());
    // Her address is on chain as a patient (the record locator names it); no transaction or log that
    // names the ward or her key for the ward names her.
    const contents = await readChainContents(dev.chain.rpcUrl);
    const hers = new Set(findOnChain(contents, own));
    const wardPlaces = [
      ...findOnChain(contents, ward),
      ...findOnChain(contents, attestation.guardian as `0x${string}`),
    ].filter((where) => !where.startsWith('state'));
    expect(wardPlaces.length).toBeGreaterThan(2);
    expect(wardPlaces.filter((where) => hers.has(where))).toEqual([]);
  }, 180_000);
});
