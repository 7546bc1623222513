/** The node refuses an Observation whose value no person can have (issue 22 item 2), naming the element. */
import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../errors/index.js';
import { assertPlausible } from './assert-plausible.js';
import { implausibleValues } from './plausibility.js';

const heartRate = (value: number, code = '/min') => ({
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '8867-4' }] },
  valueQuantity: { value, unit: code, system: 'http://unitsofmeasure.org', code },
});

describe('clinical plausibility of written Observations', () => {
  it('accepts a real heart rate and refuses −5000/min without echoing the value', () => {
    expect(implausibleValues(heartRate(72))).toEqual([]);
    const [found] = implausibleValues(heartRate(-5000));
    expect(found?.expression).toBe('Observation.value');
    expect(found?.diagnostics).toContain('between 20 and 300 /min');
    expect(found?.diagnostics).not.toContain('5000');
  });

  it('judges components, and leaves units it does not know and other resources alone', () => {
    const bp = {
      resourceType: 'Observation',
      component: [
        {
          code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }] },
          valueQuantity: { value: 120, code: 'mm[Hg]' },
        },
        {
          code: { coding: [{ system: 'http://loinc.org', code: '8462-4' }] },
          valueQuantity: { value: 800, code: 'mm[Hg]' },
        },
      ],
    };
    expect(implausibleValues(bp).map((f) => f.expression)).toEqual(['Observation.component[1].value']);
    expect(implausibleValues(heartRate(5000, '/h'))).toEqual([]);
    expect(implausibleValues({ resourceType: 'Condition', valueQuantity: { value: -1 } })).toEqual([]);
  });

  it('throws ERR_INVALID_INPUT with OperationOutcome issues', () => {
    expect(() => assertPlausible(heartRate(72))).not.toThrow();
    try {
      assertPlausible(heartRate(-5000));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CareLedgerError);
      expect((error as CareLedgerError).code).toBe('ERR_INVALID_INPUT');
    }
  });
});
