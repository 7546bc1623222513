import { describe, expect, it } from 'vitest';
import { amendmentGroups, amendmentLabel } from './app/amendment-choices.js';

const weight = (id: string, value: number, date: string) => ({
  resourceType: 'Observation',
  id,
  status: 'final',
  category: [{ coding: [{ code: 'vital-signs' }] }],
  code: { coding: [{ system: 'http://loinc.org', code: '29463-7', display: 'Body Weight' }] },
  effectiveDateTime: date,
  valueQuantity: { value, unit: 'kg', code: 'kg' },
});

describe('the records a patient may ask to amend, told apart (issue 22)', () => {
  it('says what, the result and the date in words, not the FHIR status', () => {
    expect(amendmentLabel(weight('w1', 79.4123, '2021-02-22T10:00:00Z'))).toBe(
      'Body Weight, 79.4 kg, 22 Feb 2021',
    );
    expect(
      amendmentLabel({
        resourceType: 'Immunization',
        id: 'i1',
        status: 'completed',
        vaccineCode: { coding: [{ display: 'Influenza, seasonal, injectable, preservative free' }] },
        occurrenceDateTime: '2019-02-18',
      }),
    ).toBe('Influenza, seasonal, injectable, preservative free, 18 Feb 2019');
  });

  it('groups by the record list tabs, newest first, each choice distinct', () => {
    const groups = amendmentGroups([
      weight('w1', 77.9, '2019-02-18'),
      weight('w2', 79.4, '2021-02-22'),
      {
        resourceType: 'Condition',
        id: 'c1',
        code: { coding: [{ display: 'Prediabetes' }] },
        onsetDateTime: '2016-05-01',
      },
    ]);
    expect(groups.map((g) => g.label)).toEqual(['Vital signs', 'Conditions']);
    expect(groups[0]?.choices).toEqual([
      { value: 'Observation/w2', label: 'Body Weight, 79.4 kg, 22 Feb 2021' },
      { value: 'Observation/w1', label: 'Body Weight, 77.9 kg, 18 Feb 2019' },
    ]);
    expect(groups[1]?.choices[0]?.label).toMatch(/^Prediabetes/);
  });
});
