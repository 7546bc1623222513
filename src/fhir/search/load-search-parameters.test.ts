import { evalFhirPathTyped, toTypedValue } from '@medplum/core';
import { describe, expect, it } from 'vitest';
import { getSearchParam, loadSearchParameters } from './load-search-parameters.js';

describe('R4 search parameters, each expression parsed on first use', () => {
  it('every parameter of every searchable type parses, and parses once', () => {
    let parameters = 0;
    for (const params of loadSearchParameters().values()) {
      for (const param of params.values()) {
        expect(param.expression, `${param.code}`).toBeDefined();
        expect(param.expression).toBe(param.expression);
        parameters += 1;
      }
    }
    expect(parameters).toBeGreaterThan(2_000);
  });

  it("keeps the narrowing of 'Observation | Observation.component' to the Observation itself", () => {
    const param = getSearchParam('Observation', 'combo-code-value-quantity');
    const observation = {
      resourceType: 'Observation',
      code: { coding: [{ code: 'whole' }] },
      component: [{ code: { coding: [{ code: 'part' }] } }],
    };
    const found = evalFhirPathTyped(param?.expression as never, [toTypedValue(observation)]);
    expect(
      found.map((value) => (value.value as { resourceType?: string }).resourceType ?? 'component'),
    ).toEqual(['Observation', 'component']);
  });
});
