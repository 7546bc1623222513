import { describe, expect, it } from 'vitest';
import { filterRecords, mergeRecords, pageOf, recordRow } from './app/record-rows.js';

const LAB_BASE = 'http://lab.test/fhir';
const HOSPITAL_BASE = 'http://hospital.test/fhir';
const LAB = { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' };

const glucose = (id: string, value: number, date: string) => ({
  resourceType: 'Observation',
  id,
  meta: { versionId: '1' },
  category: [{ coding: [LAB] }],
  code: { coding: [{ system: 'http://loinc.org', code: '2345-7', display: 'Glucose' }] },
  effectiveDateTime: date,
  valueQuantity: { value, unit: 'mg/dL', code: 'mg/dL' },
  referenceRange: [{ low: { value: 70, unit: 'mg/dL' }, high: { value: 99, unit: 'mg/dL' } }],
});

describe('the one record list', () => {
  it('shows a result with its range and flag', () => {
    const row = recordRow({ resource: glucose('g1', 112.04, '2026-01-10'), servedBy: 'Lab' });
    expect(row).toMatchObject({
      tab: 'results',
      title: 'Glucose',
      result: '112 mg/dL',
      range: '70–99 mg/dL',
      flag: 'high',
    });
  });

  it('writes a blood pressure as people do', () => {
    const row = recordRow({
      resource: {
        resourceType: 'Observation',
        category: [{ coding: [{ code: 'vital-signs' }] }],
        code: { text: 'Blood pressure' },
        component: [
          { code: { coding: [{ code: '8462-4' }] }, valueQuantity: { value: 79.2, code: 'mm[Hg]' } },
          { code: { coding: [{ code: '8480-6' }] }, valueQuantity: { value: 121.6, code: 'mm[Hg]' } },
        ],
      },
      servedBy: 'Hospital',
    });
    expect(row).toMatchObject({ tab: 'vitals', result: '122/79 mmHg' });
  });

  it('shows each record once: the hospital’s copy, the lab’s original and the hospital’s own served twice', () => {
    const original = glucose('g1', 104, '2026-04-12');
    const copy = {
      ...glucose('g1', 104, '2026-04-12'),
      meta: {
        versionId: '3',
        source: `${LAB_BASE}/Observation/g1/_history/1`,
        tag: [
          { system: 'https://careledger.dev/fhir/CodeSystem/received-from', code: '0xlab', display: 'Lab' },
        ],
      },
    };
    const own = glucose('h1', 97, '2026-07-15');
    const rows = mergeRecords([
      { resource: copy, servedBy: 'Hospital', servedByBase: HOSPITAL_BASE },
      { resource: own, servedBy: 'Hospital', servedByBase: HOSPITAL_BASE },
      { resource: original, servedBy: 'Lab', servedByBase: LAB_BASE, verification: { status: 'verified' } },
      {
        resource: own,
        servedBy: 'Hospital',
        servedByBase: HOSPITAL_BASE,
        verification: { status: 'verified' },
      },
      { resource: { resourceType: 'Patient', id: 'p' }, servedBy: 'Hospital' },
    ]);
    expect(rows.map((r) => [r.key, r.from, r.verification])).toEqual([
      [`${HOSPITAL_BASE}/Observation/h1`, 'Hospital', 'verified'],
      [`${LAB_BASE}/Observation/g1`, 'Lab', 'verified'],
    ]);
  });

  it('filters by tab, member and words, and pages', () => {
    const rows = mergeRecords(
      Array.from({ length: 45 }, (_, i) => ({
        resource: glucose(`g${i}`, 90 + i, `2026-01-${String((i % 28) + 1).padStart(2, '0')}`),
        servedBy: i % 2 === 0 ? 'Lab' : 'Hospital',
      })),
    );
    expect(filterRecords(rows, { tab: 'results' }).length).toBe(45);
    expect(filterRecords(rows, { tab: 'medications' }).length).toBe(0);
    expect(filterRecords(rows, { from: 'Lab' }).length).toBe(23);
    expect(filterRecords(rows, { text: 'GLUCOSE' }).length).toBe(45);
    expect(filterRecords(rows, { text: '134 mg' }).length).toBe(1);
    const last = pageOf(rows, 9, 20);
    expect([last.page, last.pages, last.items.length]).toEqual([3, 3, 5]);
  });
});

describe('SNOMED CT terms as a person reads them (issue 22)', () => {
  it('leaves out the semantic tag of a SNOMED CT display, in text or display', () => {
    const encounter = recordRow({
      resource: {
        resourceType: 'Encounter',
        status: 'finished',
        type: [
          {
            coding: [
              {
                system: 'http://snomed.info/sct',
                code: '185349003',
                display: 'Encounter for check up (procedure)',
              },
            ],
            text: 'Encounter for check up (procedure)',
          },
        ],
        period: { start: '2021-02-22T10:00:00Z' },
      },
      servedBy: 'Hospital',
    });
    expect(encounter?.title).toBe('Encounter for check up');
    const anemia = recordRow({
      resource: {
        resourceType: 'Condition',
        code: {
          coding: [{ system: 'http://snomed.info/sct', code: '271737000', display: 'Anemia (disorder)' }],
        },
      },
      servedBy: 'Hospital',
    });
    expect(anemia?.title).toBe('Anemia');
    // Only SNOMED CT's tags: a parenthesis in another system's words stays.
    const lab = recordRow({
      resource: {
        resourceType: 'Observation',
        code: { coding: [{ system: 'http://loinc.org', code: 'x', display: 'Glucose (fasting)' }] },
      },
      servedBy: 'Lab',
    });
    expect(lab?.title).toBe('Glucose (fasting)');
  });
});
