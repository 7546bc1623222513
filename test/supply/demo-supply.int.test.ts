/**
 * The demo's supply chain seeding (src/cli/commands/demo-supply.ts) against three real member nodes
 * over HTTP: the packs it names verify at the pharmacy as the README says, and it runs once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO_GTIN, seedDemoSupply } from '../../src/cli/commands/demo-supply.js';
import { isGs1CheckDigitValid } from '../../src/supply/gs1/index.js';
import { type SupplyConsortium, startSupplyConsortium } from '../support/start-supply-consortium.js';

let c: SupplyConsortium;
const dataDir = mkdtempSync(join(tmpdir(), 'careledger-demo-supply-'));

beforeAll(async () => {
  c = await startSupplyConsortium();
}, 120_000);

afterAll(async () => {
  await c?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function verify(datamatrix: string) {
  const response = await fetch(`${c.pharmacy.url}/supply/verify`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-careledger-identity': 'Practitioner/pharmacist-1',
      'x-careledger-roles': 'clinician',
    },
    body: JSON.stringify({ datamatrix }),
  });
  return (await response.json()) as { verdict: string };
}

it('seeds packs from the manufacturer through the wholesaler to the pharmacy, once', async () => {
  const nodes = {
    manufacturer: { url: c.manufacturer.url },
    wholesaler: { url: c.wholesaler.url, address: c.wholesaler.ledger.address },
    pharmacy: { url: c.pharmacy.url, address: c.pharmacy.ledger.address },
  };
  const lines: string[] = [];
  const started = performance.now();
  const seeded = await seedDemoSupply(dataDir, nodes, (line) => lines.push(line));
  const seconds = (performance.now() - started) / 1000;
  expect(isGs1CheckDigitValid(DEMO_GTIN)).toBe(true);
  expect(lines).toHaveLength(3);
  expect((await verify(seeded.goodPack.elementString)).verdict).toBe('verified');
  expect((await verify(seeded.recallPack.elementString)).verdict).toBe('verified');
  expect((await verify(seeded.expiredPack.elementString)).verdict).toBe('expired');
  expect(seeded.recallPack.lot).not.toBe(seeded.goodPack.lot);
  expect(seeded.expiredPack.lot).toBe(seeded.recallPack.lot);
  console.info(`seedDemoSupply: ${seconds.toFixed(1)} s`);

  // Once: the second call captures nothing and returns the same packs.
  expect(await seedDemoSupply(dataDir, nodes, (line) => lines.push(line))).toEqual(seeded);
  expect(lines).toHaveLength(3);
});
