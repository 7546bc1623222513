/**
 * `_contained` (R4 search.html §3.1.1.5.x) through the vault, with official R4 examples (npm
 * hl7.fhir.r4.examples@4.0.1) whose MedicationRequests contain their Medication.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AccessContext } from '../../../src/audit/create-audit-event.js';
import { formatSearchBundle } from '../../../src/http/routes/search-bundle.js';
import { openTestVault, type TestVault } from '../../support/open-test-vault.js';

const require = createRequire(import.meta.url);
const example = (name: string): unknown =>
  JSON.parse(readFileSync(require.resolve(`hl7.fhir.r4.examples/${name}.json`), 'utf8'));
const clinician: AccessContext = { who: 'Practitioner/dr-1', purpose: 'TREAT', roles: ['clinician'] };
// medrx0301 contains Medication med0310, SNOMED 430127000; medrx0302 contains med0320, 324252006.
const CODE = 'code=http://snomed.info/sct|430127000';

let vault: TestVault;
beforeAll(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000Aa');
  await vault.repo.update({ resourceType: 'Patient', id: 'pat1' }, clinician);
  for (const name of [
    'MedicationRequest-medrx0301',
    'MedicationRequest-medrx0302',
    'MedicationRequest-medrx0306',
  ])
    await vault.repo.update(example(name), clinician);
  await vault.repo.update(
    {
      resourceType: 'Medication',
      id: 'standalone',
      code: { coding: [{ system: 'http://snomed.info/sct', code: '430127000' }] },
    },
    clinician,
  );
});
afterAll(() => vault.close());

async function found(query: string, handling: 'strict' | 'lenient' = 'strict') {
  const result = await vault.repo.search('Medication', new URLSearchParams(query), clinician, { handling });
  return {
    ids: result.resources.map((r) => `${r.resourceType}/${r.id}`).sort(),
    ignored: result.ignored,
    issues: result.issues,
    total: result.total,
    fullUrls: result.fullUrls,
    resources: result.resources,
  };
}

describe('_contained', () => {
  it('false (the default) finds only resources that stand alone', async () => {
    expect((await found(CODE)).ids).toEqual(['Medication/standalone']);
    expect((await found(`${CODE}&_contained=false`)).ids).toEqual(['Medication/standalone']);
  });

  it('true finds the contained Medication and returns its container (_containedType=container)', async () => {
    expect((await found(`${CODE}&_contained=true`)).ids).toEqual(['MedicationRequest/medrx0301']);
    expect((await found(`${CODE}&_contained=true&_containedType=container`)).ids).toEqual([
      'MedicationRequest/medrx0301',
    ]);
    // Every container of a Medication, and the contained resource's own local id.
    expect((await found('_contained=true&_total=accurate')).total).toBe(3);
    expect((await found('_contained=true&_id=med0320')).ids).toEqual(['MedicationRequest/medrx0302']);
    expect((await found('code=http://snomed.info/sct|999&_contained=true')).ids).toEqual([]);
  });

  it('both finds contained and standalone resources', async () => {
    expect((await found(`${CODE}&_contained=both&_total=accurate`)).ids).toEqual([
      'Medication/standalone',
      'MedicationRequest/medrx0301',
    ]);
  });

  it('_containedType=contained returns the contained resources themselves, named by their container', async () => {
    const result = await found(`${CODE}&_contained=true&_containedType=contained`);
    expect(result.ids).toEqual(['Medication/med0310']);
    expect(result.fullUrls).toEqual(['MedicationRequest/medrx0301#med0310']);
    expect(result.resources[0]).toMatchObject({ resourceType: 'Medication', id: 'med0310' });
    const every = await found('_contained=true&_containedType=contained&_total=accurate');
    expect(every.total).toBe(3);
    expect(every.fullUrls).toContain('MedicationRequest/medrx0302#med0320');
    // `both`: the standalone match keeps its own fullUrl (none given), the contained one its fragment.
    const both = await found(`${CODE}&_contained=both&_containedType=contained`);
    expect(both.ids).toEqual(['Medication/med0310', 'Medication/standalone']);
    expect(both.fullUrls).toEqual([undefined, 'MedicationRequest/medrx0301#med0310']);
    const bundle = formatSearchBundle(
      await vault.repo.search(
        'Medication',
        new URLSearchParams(`${CODE}&_contained=true&_containedType=contained`),
        clinician,
        { handling: 'strict' },
      ),
      'https://node.example',
      '/fhir/Medication',
    );
    expect((bundle.entry as { fullUrl: string }[])[0]?.fullUrl).toBe(
      'https://node.example/fhir/MedicationRequest/medrx0301#med0310',
    );
  });

  it('answers combinations it does not run with a 400 (strict) or leaves them out and says so (lenient)', async () => {
    for (const query of [
      `${CODE}&_contained=true&_include=Medication:manufacturer`,
      `${CODE}&_contained=true&_sort=code`,
      `${CODE}&_contained=true&_has:MedicationRequest:medication:intent=order`,
    ]) {
      await expect(found(query)).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    }
    const lenient = await found(`${CODE}&_contained=true&_include=Medication:manufacturer`, 'lenient');
    expect(lenient.ids).toEqual(['Medication/standalone']);
    expect(lenient.ignored).toContain('_contained');
    expect(lenient.issues[0]?.parameter).toBe('_include');
    const withSort = await found(`${CODE}&_contained=true&_sort=code`, 'lenient');
    expect(withSort.ids).toEqual(['Medication/standalone']);
    expect(withSort.ignored).toContain('_contained');
  });

  it('refuses a malformed value naming the parameter', async () => {
    await expect(found('_contained=maybe')).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
      details: { parameter: '_contained' },
    });
    await expect(found('_contained=true&_containedType=inside')).rejects.toMatchObject({
      code: 'ERR_INVALID_INPUT',
      details: { parameter: '_containedType' },
    });
  });
});
