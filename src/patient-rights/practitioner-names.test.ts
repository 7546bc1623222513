import { describe, expect, it } from 'vitest';
import { parsePractitionerRefs, practitionerDisplayName, practitionerNames } from './practitioner-names.js';

describe('practitioner names', () => {
  it('reads the official name with its prefix: "Dr Meredith Grey"', () => {
    expect(
      practitionerDisplayName({
        name: [
          { use: 'old', family: 'Smith' },
          { use: 'official', prefix: ['Dr'], given: ['Meredith'], family: 'Grey' },
        ],
      }),
    ).toBe('Dr Meredith Grey');
    expect(practitionerDisplayName({ name: [{ text: ' Dr M. Grey ' }] })).toBe('Dr M. Grey');
    expect(practitionerDisplayName({})).toBeUndefined();
  });

  it("answers only this node's practitioners, not ledger addresses or other types, at most 50", () => {
    expect(
      parsePractitionerRefs([
        'Practitioner/dr-grey',
        'Practitioner/dr-grey',
        'Practitioner/0x7cB4a2c5E6E1f1E0c2d3b4a5968778695a4b3c2d',
        'Patient/p1',
        'Practitioner/../x',
      ]),
    ).toEqual(['dr-grey']);
    expect(parsePractitionerRefs(Array.from({ length: 80 }, (_, i) => `Practitioner/p${i}`))).toHaveLength(
      50,
    );
  });

  it('leaves out those without a name or that cannot be read', async () => {
    const names = await practitionerNames(['a', 'b', 'c'], async (id) => {
      if (id === 'b') throw new Error('not found');
      return id === 'a' ? 'Dr A' : undefined;
    });
    expect(names).toEqual({ 'Practitioner/a': 'Dr A' });
  });
});
