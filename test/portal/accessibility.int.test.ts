/**
 * WCAG 2.1 AA basics of the portal in a real browser (Debian's chromium through playwright-core),
 * against the demo consortium with its demo records seeded, page by page: the text contrast (1.4.3)
 * computed in the page from the rendered colours, a visible focus indicator on the controls reached
 * with Tab (2.4.7), names and labels of every control, link, image and chart (1.3.1, 4.1.2), the
 * heading outline, html[lang]; the downloads as real browser downloads (the FHIR Bundle, the signed
 * International Patient Summary verified offline with the CLI, an access-history .tlog-proof); and
 * no horizontal scrolling on a 375 px wide phone (1.4.10). Screenshots go to
 * test-artifacts/portal/a11y-*.png.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DemoAccount, DemoUsers } from '../../src/cli/commands/demo-users.js';
import type { DevConsortium } from '../../src/cli/commands/dev-consortium.js';
import { cliNodeArgs } from '../support/cli-entry.js';
import { startDemoConsortium } from '../support/start-demo-consortium.js';
import { ensurePortalBuilt, launchChromium, screenshot, signIn } from './portal-harness.js';

const REPO = join(import.meta.dirname, '..', '..');
const dataDir = mkdtempSync(join(tmpdir(), 'careledger-a11y-'));
const downloadDir = mkdtempSync(join(tmpdir(), 'careledger-a11y-downloads-'));
let dev: DevConsortium;
let users: DemoUsers;
let browser: Browser;
let contexts: BrowserContext[] = [];
let hospital: string;
let patientId: string;
let patient: Page;
let clinician: Page;

const account = (name: string) => users.accounts.find((a) => a.username === name) as DemoAccount;

/** One failure of a check, with where it happened. */
interface Finding {
  readonly rule: string;
  readonly where: string;
  readonly detail: string;
}

interface AuditReport {
  readonly findings: Finding[];
  readonly textElements: number;
  readonly minRatio: number;
  readonly minWhere: string;
  readonly controls: number;
  readonly headings: string[];
}

/**
 * Evaluated in the page (a string, so this file needs no DOM types). Contrast: every rendered element
 * with a direct non-whitespace text node, its colour (or an SVG text's fill) composited with the
 * opacity of its ancestors over its effective background (the background colours of it and its
 * ancestors composited from the white canvas up), the WCAG 2.1 contrast ratio of their relative
 * luminances, against 4.5 (3 for large text: ≥ 24 px, or ≥ 18.66 px and bold). Disabled controls are
 * exempt (WCAG 1.4.3: "part of an inactive user interface component"), as is text clipped away for
 * screen readers only. Names: every form control, button, link, image and SVG; headings; html[lang].
 */
const AUDIT = String.raw`(() => {
  const findings = [];
  const where = (el) => {
    const tag = el.tagName.toLowerCase();
    const id = el.id ? '#' + el.id : '';
    const cls = typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '';
    const text = (el.textContent || '').trim().replace(/\s+/g, ' ').slice(0, 50);
    return tag + id + cls + (text ? ' "' + text + '"' : '');
  };
  const parse = (value) => {
    const m = /^rgba?\(\s*([\d.]+)[,\s]+([\d.]+)[,\s]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/.exec(value.trim());
    if (m === null) return null;
    let a = m[4] === undefined ? 1 : m[4].endsWith('%') ? parseFloat(m[4]) / 100 : parseFloat(m[4]);
    return { r: +m[1], g: +m[2], b: +m[3], a };
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a),
    a: 1,
  });
  const channel = (c) => {
    const s = c / 255;
    return s <= 0.04045 ? s / 12.92 : Math.pow((s + 0.055) / 1.055, 2.4);
  };
  const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const visible = (el) => {
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) return false;
    const rect = el.getBoundingClientRect();
    if (rect.width <= 1 || rect.height <= 1) return false;
    if (rect.bottom <= 0 || rect.right <= 0) return false; // moved off-screen (the skip link until focused)
    for (let a = el; a !== null; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.clip === 'rect(0px, 0px, 0px, 0px)' || s.clipPath === 'inset(50%)') return false;
    }
    return true;
  };
  /** The opaque colour behind el: its and its ancestors' background colours over the white canvas. */
  const background = (el) => {
    const layers = [];
    let image = false;
    for (let a = el; a !== null; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.backgroundImage !== 'none') image = true;
      const c = parse(s.backgroundColor);
      if (c !== null && c.a > 0) {
        layers.push(c);
        if (c.a >= 1) break;
      }
    }
    let color = { r: 255, g: 255, b: 255, a: 1 };
    for (const layer of layers.reverse()) color = over(layer, color);
    return { color, image };
  };
  const opacity = (el) => {
    let o = 1;
    for (let a = el; a !== null; a = a.parentElement) o *= parseFloat(getComputedStyle(a).opacity);
    return o;
  };

  // 1.4.3 Contrast (minimum).
  let minRatio = Infinity;
  let minWhere = '';
  let textElements = 0;
  for (const el of document.body.querySelectorAll('*')) {
    if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'TITLE', 'DESC', 'OPTION', 'title', 'desc'].includes(el.tagName)) continue;
    const hasText = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim() !== '');
    if (!hasText || !visible(el)) continue;
    if (el.closest(':disabled, [aria-disabled="true"]') !== null) continue;
    const s = getComputedStyle(el);
    const isSvg = el instanceof SVGElement;
    const fg = parse(isSvg ? s.fill : s.color);
    if (fg === null) {
      findings.push({ rule: 'contrast', where: where(el), detail: 'unparsed colour ' + (isSvg ? s.fill : s.color) });
      continue;
    }
    const bg = background(el);
    if (bg.image) findings.push({ rule: 'contrast', where: where(el), detail: 'text over a background image: not checked' });
    const text = over({ ...fg, a: fg.a * opacity(el) }, bg.color);
    const r = ratio(text, bg.color);
    const size = parseFloat(s.fontSize);
    const bold = parseInt(s.fontWeight, 10) >= 700;
    const large = size >= 24 || (size >= 18.66 && bold);
    const needed = large ? 3 : 4.5;
    textElements += 1;
    if (r < minRatio) {
      minRatio = r;
      minWhere = where(el);
    }
    if (r < needed) {
      const hex = (c) => '#' + [c.r, c.g, c.b].map((v) => Math.round(v).toString(16).padStart(2, '0')).join('');
      findings.push({
        rule: 'contrast',
        where: where(el),
        detail: r.toFixed(2) + ':1 < ' + needed + ':1 (' + hex(text) + ' on ' + hex(bg.color) + ', ' + size + 'px' + (bold ? ' bold' : '') + ')',
      });
    }
  }

  // 1.3.1 / 4.1.2 Names and labels.
  const textOf = (ids) =>
    ids.split(/\s+/).map((id) => document.getElementById(id)?.textContent?.trim() ?? '').join(' ').trim();
  const nameOf = (el) => {
    const labelledby = el.getAttribute('aria-labelledby');
    if (labelledby && textOf(labelledby) !== '') return textOf(labelledby);
    const label = el.getAttribute('aria-label');
    if (label && label.trim() !== '') return label.trim();
    return '';
  };
  let controls = 0;
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || !el.checkVisibility()) continue;
    controls += 1;
    let name = nameOf(el);
    if (name === '' && el.labels !== null) name = [...el.labels].map((l) => l.textContent.trim()).join(' ').trim();
    if (name === '' && el.title) name = el.title.trim();
    if (name === '' && ['submit', 'button', 'reset'].includes(el.type)) name = (el.value || '').trim();
    if (name === '') findings.push({ rule: 'label', where: where(el) + '[type=' + el.type + ']', detail: 'form control without an accessible name' });
  }
  for (const el of document.querySelectorAll('button, a[href], [role="button"], [role="link"]')) {
    if (!el.checkVisibility() && !el.classList.contains('skip-link')) continue;
    controls += 1;
    let name = nameOf(el);
    if (name === '') name = (el.textContent || '').trim();
    if (name === '') name = [...el.querySelectorAll('img[alt]')].map((i) => i.alt.trim()).join(' ').trim();
    if (name === '' && el.title) name = el.title.trim();
    if (name === '') findings.push({ rule: 'name', where: where(el), detail: 'button or link without an accessible name' });
  }
  for (const el of document.querySelectorAll('img, svg, [role="img"]')) {
    if (el.closest('[aria-hidden="true"]') !== null) continue;
    if (el.ownerSVGElement !== undefined && el.ownerSVGElement !== null) continue; // nested svg parts
    if (el.tagName === 'IMG' && el.hasAttribute('alt')) continue; // alt="" marks it decorative
    let name = nameOf(el);
    if (name === '' && el.tagName.toLowerCase() === 'svg') name = el.querySelector(':scope > title')?.textContent?.trim() ?? '';
    if (name === '') findings.push({ rule: 'image', where: where(el), detail: 'image or chart without an accessible name (nor aria-hidden)' });
    else if (el.tagName.toLowerCase() === 'svg' && el.getAttribute('role') !== 'img')
      findings.push({ rule: 'image', where: where(el), detail: 'named SVG without role="img"' });
  }
  const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].filter(
    (h) => h.checkVisibility() && h.closest('[aria-hidden="true"]') === null,
  );
  const levels = headings.map((h) => Number(h.tagName[1]));
  if (levels[0] !== 1) findings.push({ rule: 'headings', where: headings[0] ? where(headings[0]) : 'document', detail: 'the first heading is not an h1' });
  if (levels.filter((l) => l === 1).length !== 1) findings.push({ rule: 'headings', where: 'document', detail: levels.filter((l) => l === 1).length + ' h1 elements' });
  for (let i = 1; i < levels.length; i++) {
    if (levels[i] > levels[i - 1] + 1)
      findings.push({ rule: 'headings', where: where(headings[i]), detail: 'h' + levels[i - 1] + ' followed by h' + levels[i] });
  }
  if ((document.documentElement.getAttribute('lang') || '').trim() === '')
    findings.push({ rule: 'lang', where: 'html', detail: 'html[lang] is not set' });
  if (document.title.trim() === '') findings.push({ rule: 'title', where: 'head', detail: 'the page has no title' });
  return {
    findings,
    textElements,
    minRatio,
    minWhere,
    controls,
    headings: headings.map((h) => h.tagName.toLowerCase() + ' ' + (h.textContent || '').trim().slice(0, 40)),
  };
})()`;

/** The focused element: whether it is a control, and its focus indicator (evaluated in the page). */
const FOCUSED = `(() => {
  const el = document.activeElement;
  if (el === null || el === document.body) return null;
  const s = getComputedStyle(el);
  const tag = el.tagName.toLowerCase();
  if (el.dataset.a11yStop === undefined) el.dataset.a11yStop = String(document.querySelectorAll('[data-a11y-stop]').length);
  return {
    stop: el.dataset.a11yStop,
    where: tag + (el.id ? '#' + el.id : '') + ' "' + (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 40) + '"',
    control: ['a', 'button', 'input', 'select', 'textarea', 'summary'].includes(tag) || el.hasAttribute('role'),
    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
    shadow: s.boxShadow !== 'none',
  };
})()`;

interface Focused {
  stop: string;
  where: string;
  control: boolean;
  outline: boolean;
  shadow: boolean;
}

/**
 * Tabs from the top of the page through up to `steps` stops; each control reached (link, button, form
 * field) must show a focus indicator: an outline or a box-shadow.
 */
async function checkFocus(page: Page, steps: number): Promise<{ checked: number; findings: Finding[] }> {
  const findings: Finding[] = [];
  await page.evaluate('document.activeElement?.blur(); window.scrollTo(0, 0)');
  // A click on the page's top-left corner (the header's padding, nothing focusable) moves the
  // sequential focus starting point there: the next Tab goes to the first control of the page.
  await page.mouse.click(2, 2);
  let checked = 0;
  const seen = new Set<string>();
  for (let i = 0; i < steps; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate<Focused | null>(FOCUSED);
    if (focused === null || seen.has(focused.stop)) break; // wrapped around to the browser chrome
    seen.add(focused.stop);
    if (!focused.control) continue;
    checked += 1;
    if (!focused.outline && !focused.shadow)
      findings.push({ rule: 'focus', where: focused.where, detail: 'no visible focus indicator' });
  }
  return { checked, findings };
}

/** Uncaught errors of the portal's pages: none is expected. */
const pageErrors: string[] = [];
let minContrast = Number.POSITIVE_INFINITY;
let minContrastAt = '';

/** Runs every check on the page as it is now, at the desktop width and at a 375×740 phone. */
async function audit(page: Page, name: string): Promise<void> {
  await page.setViewportSize({ width: 1280, height: 900 });
  const report = await page.evaluate<AuditReport>(AUDIT);
  const focus = await checkFocus(page, 60);
  await page.evaluate('document.activeElement?.blur(); window.scrollTo(0, 0)');
  await screenshot(page, `a11y-${name}`);
  await page.setViewportSize({ width: 375, height: 740 });
  const overflow = await page.evaluate<{ scrollWidth: number; innerWidth: number }>(
    '({ scrollWidth: document.scrollingElement.scrollWidth, innerWidth: window.innerWidth })',
  );
  await screenshot(page, `a11y-${name}-375px`);
  await page.setViewportSize({ width: 1280, height: 900 });
  console.log(
    `${name}: ${report.textElements} text elements, minimum contrast ${report.minRatio.toFixed(2)}:1 (${report.minWhere}); ` +
      `${report.controls} controls named; ${focus.checked} focus stops checked; headings ${report.headings.join(' › ')}; ` +
      `375 px: scrollWidth ${overflow.scrollWidth}`,
  );
  if (report.minRatio < minContrast) {
    minContrast = report.minRatio;
    minContrastAt = `${name}: ${report.minWhere}`;
  }
  expect(pageErrors).toEqual([]);
  expect(report.textElements).toBeGreaterThan(3);
  expect(focus.checked).toBeGreaterThan(0);
  expect([...report.findings, ...focus.findings]).toEqual([]);
  expect(overflow.scrollWidth, `${name} scrolls sideways on a 375 px phone`).toBeLessThanOrEqual(
    overflow.innerWidth + 1,
  );
}

/** Waits (bounded) until `main` has its h1 and no longer says it is loading. */
async function settled(page: Page, heading: string | RegExp): Promise<void> {
  await page.getByRole('heading', { name: heading, level: 1 }).waitFor({ timeout: 15_000 });
  // (A string predicate for waitForFunction would need 'unsafe-eval', which the portal's CSP forbids.)
  await page
    .locator('main')
    .getByText(/Loading|Preparing/)
    .first()
    .waitFor({ state: 'detached', timeout: 30_000 });
}

async function newPage(): Promise<Page> {
  const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(`${page.url()}: ${e.message}`));
  return page;
}

beforeAll(async () => {
  await ensurePortalBuilt();
  dev = await startDemoConsortium(dataDir, { seedDemoRecords: true });
  users = dev.demoUsers as DemoUsers;
  hospital = dev.node('hospital').url;
  patientId = account('maria.rivera').fhirUser.slice('Patient/'.length);
  browser = await launchChromium();
}, 240_000);

afterAll(async () => {
  for (const context of contexts) await context.close().catch(() => undefined);
  contexts = [];
  await browser?.close();
  await dev?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(downloadDir, { recursive: true, force: true });
});

describe('WCAG 2.1 AA basics, page by page', () => {
  it('the welcome page and the sign-in form of /oauth/authorize', async () => {
    const page = await newPage();
    await page.goto(`${hospital}/portal/`);
    await page.getByRole('heading', { level: 1, name: /Welcome to/ }).waitFor({ timeout: 15_000 });
    await audit(page, 'welcome');
    // The checks catch what they look for: a grey text (#999 on white, 2.85:1), a bare input, a skipped
    // heading level, a nameless button, an unnamed SVG, planted in the page and removed again.
    const planted = await page.evaluate<AuditReport>(`(() => {
      const box = document.createElement('div');
      box.id = 'planted';
      const grey = document.createElement('p');
      grey.textContent = 'Planted grey text';
      grey.style.color = '#999999';
      const heading = document.createElement('h3');
      heading.textContent = 'Planted h3';
      const input = document.createElement('input');
      input.type = 'text';
      const button = document.createElement('button');
      button.type = 'button';
      const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
      svg.setAttribute('width', '10');
      svg.setAttribute('height', '10');
      box.append(grey, heading, input, button, svg);
      document.querySelector('main').append(box);
      const report = ${AUDIT};
      box.remove();
      return report;
    })()`);
    const rules = planted.findings.map((f) => `${f.rule}: ${f.detail}`);
    expect(rules).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^contrast: 2\.85:1 < 4\.5:1 \(#999999 on #ffffff/),
        'headings: h1 followed by h3',
        'label: form control without an accessible name',
        'name: button or link without an accessible name',
        'image: image or chart without an accessible name (nor aria-hidden)',
      ]),
    );
    expect(planted.findings).toHaveLength(5);
    await page.getByRole('button', { name: 'Sign in', exact: true }).first().click();
    await page.waitForURL(/\/oauth\/authorize/, { timeout: 15_000 });
    await page.getByLabel('One-time code').waitFor({ timeout: 15_000 });
    await audit(page, 'sign-in');
    await page.close();
  });

  const patientPages: [label: string, heading: string, ready: string][] = [
    ['My records', 'My records', '#everywhere-h'],
    ['Sharing', 'Sharing', '#grant-form'],
    ['Access history', 'Access history', '#access-list'],
    ['Downloads', 'Downloads', '#download-status'],
    ['Key and guardians', 'Key and guardians', '#keystore-passphrase, #guardian-out'],
    ['Acting for someone', 'Acting for someone', '#ward-grant-form'],
    ['Notifications', 'Notifications', 'main h1'],
    ['Research', 'Research', '#open-studies-h, #general-h'],
    ['Messages', 'Messages', 'main h1'],
    ['Visits and refills', 'Visits and refills', '#visit-reason'],
    ['Your rights', 'Your rights', '#requests-title'],
    ['Telehealth shares', 'Telehealth shares', '#share-form'],
  ];

  it('signs the patient in', async () => {
    patient = await newPage();
    await signIn(patient, hospital, account('maria.rivera'));
  });

  for (const [label, heading, ready] of patientPages) {
    it(`the patient's ${label}`, async () => {
      // A menu link may carry its unread count ("Messages (2 unread)").
      await patient.getByRole('link', { name: new RegExp(`^${label}( \\(\\d+ unread\\))?$`) }).click();
      await settled(patient, heading);
      await patient.locator(ready).first().waitFor({ state: 'attached', timeout: 15_000 });
      if (label === 'My records') {
        // The demo records are there: tables (and trend charts where a test has several results).
        await patient.locator('main table').first().waitFor({ timeout: 15_000 });
        console.log(
          `My records: ${await patient.locator('main table').count()} tables, ${await patient.getByRole('img', { name: /trend/ }).count()} trend charts`,
        );
      }
      if (label === 'Access history')
        expect(await patient.locator('#access-list > li').count()).toBeGreaterThan(0);
      await audit(patient, `patient-${label.toLowerCase().replace(/\W+/g, '-')}`);
    });
  }

  it('signs the clinician in; the patient search with its results', async () => {
    clinician = await newPage();
    await signIn(clinician, hospital, account('dr.grey'));
    await settled(clinician, 'Patients');
    await clinician.getByRole('searchbox', { name: 'Name' }).fill('Rivera');
    await clinician.getByRole('button', { name: 'Search' }).click();
    await clinician
      .getByRole('link', { name: 'Open the chart of Maria Rivera' })
      .waitFor({ timeout: 15_000 });
    await audit(clinician, 'clinician-search');
  });

  it("the clinician's chart of the demo patient", async () => {
    await clinician.getByRole('link', { name: 'Open the chart of Maria Rivera' }).click();
    await settled(clinician, 'Chart: Maria Rivera');
    await clinician.getByRole('button', { name: 'Save observation' }).waitFor({ timeout: 15_000 });
    await audit(clinician, 'clinician-chart');
  });

  it("the chart's correction dialog, open on a vital sign with its amend field", async () => {
    await clinician.getByRole('tab', { name: /^Vital signs/ }).click();
    await clinician
      .getByRole('button', { name: /^Correct Body Weight of \d/ })
      .first()
      .click();
    await clinician.locator('#correction-form').waitFor();
    await clinician.getByLabel('Amend it').check();
    // Saved without a reason: the error is shown beside the form, and audited with it.
    await clinician.getByRole('button', { name: 'Save the correction' }).click();
    await clinician.locator('#correct-result .msg-error').waitFor();
    await audit(clinician, 'clinician-chart-correction');
    await clinician.getByRole('button', { name: 'Cancel' }).click();
  });

  it("the clinician's worklist of patients' amendment and refill requests, visit requests and messages", async () => {
    // A visit request and a message from Maria, so their cards (forms, buttons) are audited too.
    for (const [path, body] of [
      ['/patient-rights/appointments', { reason: 'Blood pressure check' }],
      ['/patient-rights/messages', { text: 'Can I take ibuprofen with my medication?' }],
    ] as const) {
      const response = await fetch(`${hospital}${path}`, {
        method: 'POST',
        headers: { 'x-careledger-identity': `Patient/${patientId}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(201);
    }
    await clinician.getByRole('link', { name: 'Patient requests', exact: true }).click();
    await settled(clinician, 'Patient requests');
    await clinician.locator('[data-kind=visit-request]').first().waitFor({ timeout: 15_000 });
    await clinician.locator('[data-kind=patient-message]').first().waitFor({ timeout: 15_000 });
    await audit(clinician, 'clinician-requests');
  });
});

describe("the patient's downloads, as real browser downloads", () => {
  it('the FHIR Bundle of her records', async () => {
    await patient.getByRole('link', { name: 'Downloads', exact: true }).click();
    await settled(patient, 'Downloads');
    const [download] = await Promise.all([
      patient.waitForEvent('download', { timeout: 30_000 }),
      patient.getByRole('button', { name: 'Download FHIR Bundle' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('my-records.fhir.json');
    const file = join(downloadDir, download.suggestedFilename());
    await download.saveAs(file);
    const bundle = JSON.parse(readFileSync(file, 'utf8')) as {
      resourceType: string;
      type: string;
      entry?: { resource: { resourceType: string; id?: string; subject?: { reference?: string } } }[];
    };
    expect(bundle.resourceType).toBe('Bundle');
    expect(['searchset', 'collection']).toContain(bundle.type);
    const resources = (bundle.entry ?? []).map((e) => e.resource);
    expect(resources.some((r) => r.resourceType === 'Patient' && r.id === patientId)).toBe(true);
    const hers = resources.filter((r) => r.subject?.reference === `Patient/${patientId}`);
    expect(hers.length).toBeGreaterThan(0);
    expect(new Set(resources.map((r) => r.resourceType)).has('Observation')).toBe(true);
    console.log(
      `FHIR Bundle (${bundle.type}): ${resources.length} resources: ${[...new Set(resources.map((r) => r.resourceType))].join(', ')}`,
    );
    await patient.locator('#download-status .msg-ok').waitFor({ timeout: 15_000 });
  });

  it('the International Patient Summary, whose signature the CLI verifies offline', async () => {
    const [download] = await Promise.all([
      patient.waitForEvent('download', { timeout: 30_000 }),
      patient.getByRole('button', { name: 'Download IPS' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('patient-summary.ips.json');
    const file = join(downloadDir, download.suggestedFilename());
    await download.saveAs(file);
    const ips = JSON.parse(readFileSync(file, 'utf8')) as {
      resourceType: string;
      type: string;
      entry: {
        resource: { resourceType: string; type?: { coding?: { system?: string; code?: string }[] } };
      }[];
      signature?: { sigFormat?: string; data?: string };
    };
    expect(ips.resourceType).toBe('Bundle');
    expect(ips.type).toBe('document');
    const composition = ips.entry[0]?.resource;
    expect(composition?.resourceType).toBe('Composition');
    expect(composition?.type?.coding).toContainEqual(
      expect.objectContaining({ system: 'http://loinc.org', code: '60591-5' }),
    );
    expect(ips.signature?.sigFormat).toBe('application/jose');
    expect(ips.signature?.data).toBeTruthy();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [...cliNodeArgs(), 'summary', 'verify', file],
      { cwd: REPO, timeout: 60_000 },
    );
    expect(stdout).toMatch(/^OK signed by 0x[0-9a-fA-F]{40}/);
    console.log(`careledger summary verify: ${stdout.trim()}`);
    // The page again, now with its green status message ("… downloaded").
    await patient.locator('#download-status .msg-ok').waitFor({ timeout: 15_000 });
    await audit(patient, 'patient-downloads-done');
  });

  it('the .tlog-proof of an access-history entry, from the Downloads page', async () => {
    await patient.getByRole('main').getByRole('link', { name: 'access history' }).click();
    await settled(patient, 'Access history');
    const entry = patient.locator('#access-list > li').first();
    await entry.getByRole('button', { name: 'Verify' }).click();
    await entry.locator('.verify-result').waitFor({ timeout: 30_000 });
    expect(await entry.locator('.verify-result').textContent()).toMatch(/^Verified/);
    await audit(patient, 'patient-access-history-verified'); // with the verification result shown
    const [download] = await Promise.all([
      patient.waitForEvent('download', { timeout: 30_000 }),
      entry.getByRole('button', { name: /Download \.tlog-proof/ }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^entry-\d+\.tlog-proof$/);
    const file = join(downloadDir, download.suggestedFilename());
    await download.saveAs(file);
    const proof = readFileSync(file, 'utf8');
    expect(proof.startsWith('c2sp.org/tlog-proof@v1')).toBe(true);
    expect(proof).toMatch(/\nindex \d+\n/);
  });

  it('the lowest contrast ratio over every page', () => {
    console.log(`minimum contrast over all pages: ${minContrast.toFixed(2)}:1 at ${minContrastAt}`);
    // Each text was held to 4.5:1, or 3:1 when large, on its page.
    expect(minContrast).toBeGreaterThanOrEqual(3);
    expect(pageErrors).toEqual([]);
  });
});
