import { describe, expect, it } from 'vitest';
import { checkKAnonymity, type QuasiIdentifiedRecord } from './k-anonymity.js';

function cohort(): QuasiIdentifiedRecord[] {
  const rows: [string, string | undefined, string | undefined, string | undefined, string][] = [
    ['p1', '1980', 'female', '018', 'white'],
    ['p2', '1980', 'female', '018', 'white'],
    ['p3', '1980', 'female', '018', 'asian'],
    ['p4', '1975', 'male', '021', 'white'],
    ['p5', '1975', 'male', '021', 'white'],
    ['p6', '90+', 'female', '000', 'white'],
    ['p7', '1975', 'male', undefined, 'white'],
  ];
  return rows.map(([key, birthYear, sex, zip3, race]) => ({ key, birthYear, sex, zip3, extra: { race } }));
}

describe('checkKAnonymity', () => {
  it('suppresses records of classes smaller than k and counts them', () => {
    const result = checkKAnonymity(cohort(), 2);
    expect([...result.suppressed].sort()).toEqual(['p6', 'p7']);
    expect(result.counts).toEqual({
      records: 7,
      released: 5,
      suppressed: 2,
      equivalenceClasses: 4,
      suppressedClasses: 2,
      smallestReleasedClass: 2,
    });
  });

  it('suppresses more as k grows, and everything when no class reaches k', () => {
    expect([...checkKAnonymity(cohort(), 3).released].sort()).toEqual(['p1', 'p2', 'p3']);
    expect(checkKAnonymity(cohort(), 4).counts).toMatchObject({ released: 0, smallestReleasedClass: null });
    expect(checkKAnonymity(cohort(), 1).counts.suppressed).toBe(0);
  });

  it("splits classes by the profile's extra quasi-identifiers", () => {
    const result = checkKAnonymity(cohort(), 2, ['race']);
    expect([...result.suppressed].sort()).toEqual(['p3', 'p6', 'p7']);
  });

  it('refuses a k that is not a positive integer', () => {
    for (const k of [0, -1, 1.5]) {
      expect(() => checkKAnonymity(cohort(), k)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_INPUT' }),
      );
    }
  });
});
