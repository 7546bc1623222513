import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import {
  ALL_DATA_CATEGORIES,
  ALL_PURPOSES_OF_USE,
  DATA_CATEGORIES,
  decodeCategories,
  decodePurposes,
  encodeCategories,
  encodePurposes,
  isDataCategory,
  isMemberRole,
  isPurposeOfUse,
  MEMBER_ROLES,
  PURPOSES_OF_USE,
  parseMemberRole,
} from './codes.js';

function expectInvalidInput(action: () => unknown): void {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(CareLedgerError);
    expect((error as CareLedgerError).code).toBe('ERR_INVALID_INPUT');
    return;
  }
  throw new Error('expected ERR_INVALID_INPUT');
}

describe('member roles', () => {
  it('numbers the roles 1..8 as ConsortiumRegistry does (0 is not a role)', () => {
    expect(MEMBER_ROLES).toEqual({
      provider: 1,
      lab: 2,
      pharmacy: 3,
      payer: 4,
      research: 5,
      manufacturer: 6,
      distributor: 7,
      'licensing-board': 8,
    });
  });

  it('parses names and numbers, and rejects the rest', () => {
    expect(parseMemberRole('payer')).toBe('payer');
    expect(parseMemberRole(6)).toBe('manufacturer');
    expect(isMemberRole('lab')).toBe(true);
    expect(isMemberRole('toString')).toBe(false);
    expectInvalidInput(() => parseMemberRole(0));
    expectInvalidInput(() => parseMemberRole('hospital'));
  });
});

describe('bit assignments', () => {
  it('gives every category and purpose its own bit, densely from 0', () => {
    for (const table of [DATA_CATEGORIES, PURPOSES_OF_USE]) {
      const bits = Object.values(table).map((entry) => entry.bit);
      expect([...bits].sort((a, b) => a - b)).toEqual(bits.map((_, i) => i));
    }
  });

  it('pins the on-chain format: bit positions must never change', () => {
    expect(encodeCategories(['demographics'])).toBe(1n);
    expect(encodeCategories(['laboratory'])).toBe(1n << 5n);
    expect(
      encodeCategories(['mental-health', 'substance-use', 'hiv', 'genetic', 'sexual-reproductive']),
    ).toBe(0b11111n << 12n);
    expect(encodeCategories(['financial'])).toBe(1n << 17n);
    expect(encodePurposes(['TREAT'])).toBe(1n);
    expect(encodePurposes(['ETREAT'])).toBe(2n);
    expect(encodePurposes(['HRESCH'])).toBe(16n);
    expect(ALL_PURPOSES_OF_USE).toHaveLength(14);
    expect(ALL_DATA_CATEGORIES).toHaveLength(18);
  });

  it('labels the sensitive categories with their HL7 v3 ActCode', () => {
    const codes = Object.fromEntries(
      Object.entries(DATA_CATEGORIES)
        .filter(([, info]) => 'sensitivityCode' in info)
        .map(([name, info]) => [name, (info as { sensitivityCode: string }).sensitivityCode]),
    );
    expect(codes).toEqual({
      'mental-health': 'PSY',
      'substance-use': 'ETH',
      hiv: 'HIV',
      genetic: 'GDIS',
      'sexual-reproductive': 'SEX',
    });
  });
});

describe('encode / decode', () => {
  it('round-trips any subset of categories and purposes (in bit order, duplicates merged)', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ALL_DATA_CATEGORIES)), (names) => {
        const decoded = decodeCategories(encodeCategories(names));
        expect(decoded).toEqual(ALL_DATA_CATEGORIES.filter((name) => names.includes(name)));
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ALL_PURPOSES_OF_USE)), (codes) => {
        expect(decodePurposes(encodePurposes(codes))).toEqual(
          ALL_PURPOSES_OF_USE.filter((c) => codes.includes(c)),
        );
      }),
    );
  });

  it('encodes nothing as 0', () => {
    expect(encodeCategories([])).toBe(0n);
    expect(decodePurposes(0n)).toEqual([]);
  });

  it('rejects unknown names and bits with ERR_INVALID_INPUT', () => {
    expectInvalidInput(() => encodeCategories(['medications', 'x-rays']));
    expectInvalidInput(() => encodeCategories(['constructor']));
    expectInvalidInput(() => encodePurposes(['treat']));
    expectInvalidInput(() => decodeCategories(1n << 18n));
    expectInvalidInput(() => decodePurposes(1n << 14n));
    expectInvalidInput(() => decodePurposes(-1n));
  });

  it('has total type guards', () => {
    expect(isDataCategory('hiv')).toBe(true);
    expect(isDataCategory('HIV')).toBe(false);
    expect(isPurposeOfUse('PUBHLTH')).toBe(true);
    expect(isPurposeOfUse(3)).toBe(false);
  });
});
