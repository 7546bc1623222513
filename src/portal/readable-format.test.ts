import { describe, expect, it } from 'vitest';
import { formatQuantity, formatRange, resultFlag, roundValue, unitText } from './app/quantity-format.js';
import { grantSummary, personName, purposeWords } from './app/words.js';

describe('values at their meaningful precision, units as people write them', () => {
  it('rounds the issue’s examples', () => {
    expect(formatQuantity({ value: 2.289414734710588, unit: '{score}', code: '{score}' })).toBe('2.3');
    expect(formatQuantity({ value: 162.4453053111811, unit: 'cm', code: 'cm' })).toBe('162.4 cm');
  });

  it('writes UCUM units as on a lab report', () => {
    expect(formatQuantity({ value: 120, unit: 'mm[Hg]', code: 'mm[Hg]' })).toBe('120 mmHg');
    expect(formatQuantity({ value: 36.84, code: 'Cel' })).toBe('36.8°C');
    expect(formatQuantity({ value: 72.4, code: '/min' })).toBe('72/min');
    expect(formatQuantity({ value: 7.2, code: '10*3/uL' })).toBe('7.2 ×10³/µL');
    expect(formatQuantity({ value: 5.4, code: '%', unit: '%' })).toBe('5.4%');
    expect(formatQuantity({ value: 24.123, code: 'kg/m2' })).toBe('24.1 kg/m²');
    expect(formatQuantity({ value: 5, unit: 'mg/L', comparator: '<' })).toBe('<5 mg/L');
    expect(unitText('{cells}/uL')).toBe('/uL');
  });

  it('keeps three significant digits where the unit sets no precision', () => {
    expect(roundValue(104)).toBe('104');
    expect(roundValue(5.4)).toBe('5.4');
    expect(roundValue(0.8734)).toBe('0.873');
    expect(roundValue(1234.56)).toBe('1235');
    expect(roundValue(0)).toBe('0');
  });
});

describe('reference ranges and flags', () => {
  const range = {
    low: { value: 70, unit: 'mg/dL', code: 'mg/dL' },
    high: { value: 99, unit: 'mg/dL', code: 'mg/dL' },
  };

  it('writes a range with its unit', () => {
    expect(formatRange(range)).toBe('70–99 mg/dL');
    expect(formatRange({ high: { value: 5, unit: 'mg/L' } })).toBe('below 5 mg/L');
    expect(formatRange({ text: 'negative' })).toBe('negative');
  });

  it('flags from the interpretation first, else from the range', () => {
    const high = [{ coding: [{ code: 'H' }] }];
    expect(resultFlag({ value: 80 }, high, [range])).toBe('high');
    expect(resultFlag({ value: 112 }, undefined, [range])).toBe('high');
    expect(resultFlag({ value: 60 }, undefined, [range])).toBe('low');
    expect(resultFlag({ value: 80 }, undefined, [range])).toBe('normal');
    expect(resultFlag({ value: 80 }, undefined, undefined)).toBeUndefined();
    expect(resultFlag({ value: 3 }, [{ coding: [{ code: 'LL' }] }], undefined)).toBe('critical-low');
  });
});

describe('purposes, grants and people in words', () => {
  it('says purposes as a sentence', () => {
    expect(purposeWords(['TREAT'])).toBe('for your treatment');
    expect(purposeWords(['TREAT', 'HRESCH', 'HPAYMT'])).toBe(
      'for your treatment, research and payment for your care',
    );
    expect(purposeWords([])).toBe('');
  });

  it('says what a lab-only grant does before it is signed', () => {
    const text = grantSummary({
      grantee: 'Riverside General Hospital',
      categories: ['laboratory'],
      purposes: ['TREAT'],
      until: '7 Mar 2027',
    });
    expect(text).toContain(
      'Riverside General Hospital will be able to recognise you at each member by your ledger address only (not your name or birth date) and receive your laboratory results, for your treatment, until 7 Mar 2027.',
    );
    expect(text).toContain('Copies a member has already fetched stay with that member');
    expect(
      grantSummary({ grantee: 'X', categories: ['demographics', 'hiv'], purposes: ['TREAT'], until: 'then' }),
    ).toContain('see your name, birth date and contact details and receive your demographics and HIV/AIDS');
  });

  it('names people instead of showing ids', () => {
    const hospital = '0x00000000000000000000000000000000000000aa';
    const doctor = '0x7cb4000000000000000000000000000000000001';
    const directory = {
      self: 'Patient/b85d',
      members: new Map([[hospital, 'Riverside General Hospital']]),
      practitioners: new Map([[doctor, hospital]]),
      names: new Map([['Practitioner/dr-grey', 'Dr Meredith Grey']]),
      here: 'Riverside General Hospital',
    };
    expect(personName('Patient/b85d', directory)).toBe('You');
    expect(personName(`Organization/${hospital}`, directory)).toBe('Riverside General Hospital');
    expect(personName('Practitioner/dr-grey', directory)).toBe(
      'Dr Meredith Grey, Riverside General Hospital',
    );
    expect(personName(`Practitioner/${doctor}`, directory)).toBe('a clinician of Riverside General Hospital');
    expect(personName('Practitioner/0x9999999999999999999999999999999999999999', directory)).toBe(
      'a clinician',
    );
    expect(personName('Patient/other', directory)).toBe('a patient');
  });
});
