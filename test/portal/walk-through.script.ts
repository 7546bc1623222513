/**
 * A by-hand walk-through helper (not a test): starts the demo consortium, signs in as Maria, Dr Grey
 * and the privacy officer at 1280 px and 375 px, visits every page of the menu, and writes each page's text, console
 * errors, sideways overflow and a screenshot to WALK_OUT (default /tmp/portal-walk).
 *   npx tsx test/portal/walk-through.script.ts
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import type { DemoAccount, DemoUsers } from '../../src/cli/commands/demo-users.js';
import { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { findFreePorts } from '../support/free-port.js';
import { ensurePortalBuilt, launchChromium, seedRecords, signIn } from './portal-harness.js';

const out = process.env.WALK_OUT ?? '/tmp/portal-walk';
mkdirSync(out, { recursive: true });
const dataDir = mkdtempSync(join(tmpdir(), 'careledger-walk-'));
await ensurePortalBuilt();
const [chainPort, ...nodePorts] = await findFreePorts(4);
const dev = new DevConsortium({ dataDir, chainPort: chainPort as number, nodePorts, log: () => undefined });
await dev.start();
const report: string[] = [];
try {
  const users = dev.demoUsers as DemoUsers;
  const hospital = dev.node('hospital').url;
  const account = (name: string) => users.accounts.find((a) => a.username === name) as DemoAccount;
  await seedRecords(hospital, account('maria.rivera').fhirUser.slice('Patient/'.length));
  const browser = await launchChromium();
  const mariaId = account('maria.rivera').fhirUser.slice('Patient/'.length);
  for (const who of ['maria.rivera', 'dr.grey', 'privacy.officer']) {
    for (const width of [1280, 375]) {
      const context = await browser.newContext({ viewport: { width, height: width === 375 ? 812 : 900 } });
      const page: Page = await context.newPage();
      const errors: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('pageerror', (e) => errors.push(String(e)));
      await signIn(page, hospital, account(who));
      const links = await page
        .locator('nav a[href^="#/"]')
        .evaluateAll((as) => as.map((a) => [a.getAttribute('href') ?? '', (a.textContent ?? '').trim()]));
      // The chart is opened from the patient list, not the menu.
      if (who === 'dr.grey') links.push([`#/chart/${mariaId}`, 'Chart of Maria']);
      for (const [href, label] of links) {
        errors.length = 0;
        await page.goto(`${hospital}/portal/${href}`);
        await page
          .locator('main h1')
          .first()
          .waitFor({ timeout: 20_000 })
          .catch(() => undefined);
        await page.waitForLoadState('networkidle').catch(() => undefined);
        const text = ((await page.locator('main').textContent()) ?? '').replace(/\s+/g, ' ');
        const overflow = await page.evaluate<number>(
          'document.scrollingElement.scrollWidth - window.innerWidth',
        );
        const name = `${who}-${width}-${href.replace(/[^a-z]/g, '')}`;
        await page.screenshot({ path: join(out, `${name}.png`), fullPage: true });
        report.push(
          `## ${who} ${width}px ${label} (${href})\noverflow: ${overflow}px; console errors: ${errors.join(' | ') || 'none'}\n${text.slice(0, 3000)}\n`,
        );
      }
      await context.close();
    }
  }
  await browser.close();
} finally {
  writeFileSync(join(out, 'report.md'), report.join('\n'));
  await dev.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
