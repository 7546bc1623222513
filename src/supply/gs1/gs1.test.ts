import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../errors/index.js';
import {
  computeGs1CheckDigit,
  formatGs1DigitalLink,
  formatSgtinUri,
  GROUP_SEPARATOR,
  isGs1CheckDigitValid,
  parseGs1Date,
  parseGs1DigitalLink,
  parseGs1ElementString,
  parseGtin,
  parseSscc,
} from './index.js';

const NOW = new Date('2026-12-07T00:00:00Z');

function reasonOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CareLedgerError);
    return (error as CareLedgerError).details.reason;
  }
  throw new Error('expected a refusal');
}

describe('GS1 check digits (General Specifications §7.9)', () => {
  // §7.9.1's worked example (GTIN-13 629104150021 → 3), the SSCC example of §3.2.2
  // (376104250021234569), GS1's sample GTIN 09506000134352 and a GTIN-13 from a retail pack.
  it.each([
    ['629104150021', 3],
    ['37610425002123456', 9],
    ['0950600013435', 2],
    ['400638133393', 1],
  ])('%s has check digit %i', (data, digit) => {
    expect(computeGs1CheckDigit(data)).toBe(digit);
    expect(isGs1CheckDigitValid(`${data}${digit}`)).toBe(true);
    expect(isGs1CheckDigitValid(`${data}${(digit + 1) % 10}`)).toBe(false);
  });

  it('pads GTIN-8/12/13 to 14 digits and refuses a wrong length or check digit', () => {
    expect(parseGtin('6291041500213')).toBe('06291041500213');
    expect(parseGtin('09506000134352')).toBe('09506000134352');
    expect(reasonOf(() => parseGtin('09506000134353'))).toBe('gtin-check-digit');
    expect(reasonOf(() => parseGtin('123'))).toBe('gtin-length');
    expect(parseSscc('376104250021234569')).toBe('376104250021234569');
    expect(reasonOf(() => parseSscc('376104250021234560'))).toBe('sscc-check-digit');
  });
});

describe('GS1 element strings from a pack DataMatrix', () => {
  const GS = GROUP_SEPARATOR;

  it('reads a transmitted DataMatrix with FNC1 separators and the ]d2 symbology identifier', () => {
    const parsed = parseGs1ElementString(`]d201095060001343521728123110ABC123${GS}21XYZ-0001`, NOW);
    expect(parsed).toMatchObject({
      gtin: '09506000134352',
      expiry: '2028-12-31',
      lot: 'ABC123',
      serial: 'XYZ-0001',
    });
    expect(parsed.elements.map((e) => e.ai)).toEqual(['01', '17', '10', '21']);
  });

  it('reads the human-readable form and the same data in any element order', () => {
    const a = parseGs1ElementString('(01)09506000134352(21)XYZ-0001(10)ABC123(17)281200', NOW);
    expect(a).toMatchObject({
      gtin: '09506000134352',
      serial: 'XYZ-0001',
      lot: 'ABC123',
      expiry: '2028-12-31',
    });
    const b = parseGs1ElementString(`0109506000134352211234${GS}10L1${GS}17290228`, NOW);
    expect(b).toMatchObject({ serial: '1234', lot: 'L1', expiry: '2029-02-28' });
  });

  it('refuses what a counterfeit or misprinted pack may carry, with the reason', () => {
    expect(reasonOf(() => parseGs1ElementString('(01)09506000134353(21)A', NOW))).toBe('gs1-check-digit');
    expect(reasonOf(() => parseGs1ElementString('(99)12', NOW))).toBe('gs1-unknown-ai');
    expect(reasonOf(() => parseGs1ElementString('(01)0950600013435(21)A', NOW))).toBe('gs1-length');
    expect(reasonOf(() => parseGs1ElementString('(01)09506000134352(21)A B', NOW))).toBe('gs1-character-set');
    expect(reasonOf(() => parseGs1ElementString(`(01)09506000134352(21)${'A'.repeat(21)}`, NOW))).toBe(
      'gs1-length',
    );
    expect(reasonOf(() => parseGs1ElementString('(01)09506000134352(17)281332', NOW))).toBe('gs1-date');
    expect(reasonOf(() => parseGs1ElementString('(01)09506000134352(17)280230', NOW))).toBe('gs1-date');
    expect(reasonOf(() => parseGs1ElementString('(21)A(10)B', NOW))).toBe('gs1-missing-gtin');
    expect(reasonOf(() => parseGs1ElementString('(01)09506000134352(21)A(21)B', NOW))).toBe(
      'gs1-duplicate-ai',
    );
    expect(reasonOf(() => parseGs1ElementString('(01)09506000134352(02)09506000134352', NOW))).toBe(
      'gs1-invalid-pair',
    );
    expect(reasonOf(() => parseGs1ElementString('  ', NOW))).toBe('gs1-empty');
  });

  it('resolves the century of YYMMDD by the ±50-year rule of §7.12', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    expect(parseGs1Date('760101', at, false)).toBe('2076-01-01');
    expect(parseGs1Date('770101', at, false)).toBe('1977-01-01');
    const late = new Date('2080-01-01T00:00:00Z');
    expect(parseGs1Date('290101', late, false)).toBe('2129-01-01');
    expect(parseGs1Date('310101', late, false)).toBe('2031-01-01');
    expect(parseGs1Date('240200', at, true)).toBe('2024-02-29');
    expect(parseGs1Date('240200', at, false)).toBe('2024-02');
  });
});

describe('GS1 Digital Link URIs', () => {
  it('reads a pack link with qualifiers and an expiry attribute, ignoring non-AI parameters', () => {
    const parsed = parseGs1DigitalLink(
      'https://id.gs1.org/01/09506000134352/10/ABC%2F1/21/XYZ-0001?17=281231&linkType=gs1:pip',
      NOW,
    );
    expect(parsed).toMatchObject({
      gtin: '09506000134352',
      lot: 'ABC/1',
      serial: 'XYZ-0001',
      expiry: '2028-12-31',
    });
  });

  it('accepts a custom domain with a path prefix, GTIN-13 and the 1.1 short names', () => {
    const parsed = parseGs1DigitalLink('https://pharma.example.com/dl/gtin/6291041500213/ser/77', NOW);
    expect(parsed).toMatchObject({ gtin: '06291041500213', serial: '77' });
  });

  it('refuses qualifiers out of order, a bad GTIN and a link with no primary key', () => {
    expect(reasonOf(() => parseGs1DigitalLink('https://id.gs1.org/01/09506000134352/21/A/10/B', NOW))).toBe(
      'dl-qualifier-order',
    );
    expect(reasonOf(() => parseGs1DigitalLink('https://id.gs1.org/01/09506000134353/21/A', NOW))).toBe(
      'gtin-check-digit',
    );
    expect(reasonOf(() => parseGs1DigitalLink('https://example.com/products/42', NOW))).toBe(
      'dl-no-primary-key',
    );
    expect(reasonOf(() => parseGs1DigitalLink('not a uri', NOW))).toBe('dl-not-uri');
  });

  it('formats the canonical link and the SGTIN of a pack, which parse back to the same pack', () => {
    const link = formatGs1DigitalLink({
      gtin: '6291041500213',
      lot: 'L 1',
      serial: 'S/1',
      expiry: '2028-12-31',
    });
    expect(link).toBe('https://id.gs1.org/01/06291041500213/10/L%201/21/S%2F1?17=281231');
    expect(formatSgtinUri('09506000134352', 'XYZ-0001')).toBe(
      'https://id.gs1.org/01/09506000134352/21/XYZ-0001',
    );
    expect(reasonOf(() => parseGs1DigitalLink(link, NOW))).toBe('gs1-character-set');
    const good = formatGs1DigitalLink({
      gtin: '6291041500213',
      lot: 'L1',
      serial: 'S/1',
      expiry: '2028-12-31',
    });
    expect(parseGs1DigitalLink(good, NOW)).toMatchObject({ lot: 'L1', serial: 'S/1', expiry: '2028-12-31' });
  });
});
