/**
 * `near` through the vault (blind index, decryption, the access decision, the memory stage) with the
 * official R4 Location examples (npm hl7.fhir.r4.examples@4.0.1) and R4 search.html's own query.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../../src/audit/create-audit-event.js';
import { openTestVault, type TestVault } from '../../support/open-test-vault.js';

const require = createRequire(import.meta.url);
const example = (name: string): unknown =>
  JSON.parse(readFileSync(require.resolve(`hl7.fhir.r4.examples/${name}.json`), 'utf8'));
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };

let vault: TestVault;
beforeAll(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000Aa');
  for (const name of ['Location-1', 'Location-hl7', 'Location-amb', 'Location-ph'])
    await vault.repo.update(example(name), clinician);
});
afterAll(() => vault.close());

const ids = async (query: string, handling: 'strict' | 'lenient' = 'strict') =>
  (await vault.repo.search('Location', new URLSearchParams(query), clinician, { handling })).resources
    .map((r) => r.id)
    .sort();

describe('Location?near= through the vault', () => {
  it('finds the Locations whose position is within the distance, and only those', async () => {
    expect(await ids('near=-83.694810|42.256500|11.20|km')).toEqual(['hl7']);
    expect(await ids('near=42.256500|-83.694810|11.20|km')).toEqual(['1']);
    // Combined with an indexed parameter (ANDed).
    expect(await ids('near=42.256500|-83.694810|11.20|km&status=active')).toEqual(['1']);
    expect(await ids('near=42.256500|-83.694810|11.20|km&status=inactive')).toEqual([]);
  });

  it('refuses a malformed near with ERR_INVALID_INPUT (a 400 OperationOutcome over HTTP)', async () => {
    await expect(ids('near=100|0|1|km')).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
      details: { parameter: 'near' },
    });
  });
});
