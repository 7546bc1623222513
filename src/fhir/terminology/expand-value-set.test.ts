import { describe, expect, it } from 'vitest';
import {
  createExpansionCache,
  expandValueSet,
  layeredSource,
  shippedValueSetLookup,
  UNEXPANDABLE,
} from './index.js';

const LOINC = 'http://loinc.org';
const SNOMED = 'http://snomed.info/sct';

function sourceOf(...resources: Record<string, unknown>[]) {
  const byUrl = (type: string) => (url: string) =>
    resources.find((r) => r.resourceType === type && r.url === url);
  return { valueSet: byUrl('ValueSet'), codeSystem: byUrl('CodeSystem') };
}

const vitals = {
  resourceType: 'ValueSet',
  url: 'http://vs.example/vitals',
  compose: {
    include: [{ system: LOINC, concept: [{ code: '8480-6' }, { code: '8462-4' }, { code: '8310-5' }] }],
  },
};

describe('expandValueSet', () => {
  it('expands compose.include concepts, include.valueSet (intersected) and exclude (R4 §4.9.5)', () => {
    const pressure = {
      resourceType: 'ValueSet',
      url: 'http://vs.example/pressure',
      compose: {
        include: [{ valueSet: ['http://vs.example/vitals|1.0'] }],
        exclude: [{ system: LOINC, concept: [{ code: '8310-5' }] }],
      },
    };
    const result = expandValueSet('http://vs.example/pressure', sourceOf(vitals, pressure));
    expect(result).toEqual({ codings: new Set([`${LOINC}|8480-6`, `${LOINC}|8462-4`]) });
  });

  it('expands a whole complete CodeSystem with its nested concepts', () => {
    const system = {
      resourceType: 'CodeSystem',
      url: 'http://cs.example/triage',
      content: 'complete',
      concept: [{ code: 'urgent', concept: [{ code: 'emergent' }] }, { code: 'routine' }],
    };
    const all = {
      resourceType: 'ValueSet',
      url: 'http://vs.example/triage',
      compose: { include: [{ system: system.url }] },
    };
    expect(expandValueSet(all.url, sourceOf(system, all))).toEqual({
      codings: new Set([
        'http://cs.example/triage|urgent',
        'http://cs.example/triage|emergent',
        'http://cs.example/triage|routine',
      ]),
    });
    const fragment = { ...system, content: 'fragment' };
    expect(expandValueSet(all.url, sourceOf(fragment, all))).toEqual({
      unexpandable: UNEXPANDABLE.codeSystem,
    });
  });

  it('uses a present expansion.contains, leaving out abstract entries, but not a partial one', () => {
    const expanded = {
      resourceType: 'ValueSet',
      url: 'http://vs.example/expanded',
      compose: {
        include: [{ system: SNOMED, filter: [{ property: 'concept', op: 'is-a', value: '73211009' }] }],
      },
      expansion: {
        contains: [
          {
            system: SNOMED,
            code: '73211009',
            abstract: true,
            contains: [{ system: SNOMED, code: '44054006' }],
          },
          { system: SNOMED, code: '46635009' },
        ],
      },
    };
    expect(expandValueSet(expanded.url, sourceOf(expanded))).toEqual({
      codings: new Set([`${SNOMED}|44054006`, `${SNOMED}|46635009`]),
    });
    const partial = { ...expanded, expansion: { ...expanded.expansion, total: 250 } };
    expect(expandValueSet(expanded.url, sourceOf(partial))).toEqual({ unexpandable: UNEXPANDABLE.filter });
  });

  it('says why what needs a terminology server cannot be expanded', () => {
    const isA = {
      resourceType: 'ValueSet',
      url: 'http://vs.example/diabetes',
      compose: {
        include: [{ system: SNOMED, filter: [{ property: 'concept', op: 'is-a', value: '73211009' }] }],
      },
    };
    expect(expandValueSet(isA.url, sourceOf(isA))).toEqual({ unexpandable: UNEXPANDABLE.filter });
    expect(expandValueSet(`${SNOMED}?fhir_vs=isa/73211009`, sourceOf())).toEqual({
      unexpandable: UNEXPANDABLE.implicit,
    });
    expect(expandValueSet('http://vs.example/none', sourceOf())).toEqual({
      unexpandable: UNEXPANDABLE.unknown,
    });
    const loop = {
      resourceType: 'ValueSet',
      url: 'http://vs.example/loop',
      compose: { include: [{ valueSet: ['http://vs.example/loop'] }] },
    };
    expect(expandValueSet(loop.url, sourceOf(loop))).toEqual({ unexpandable: UNEXPANDABLE.cycle });
  });

  it('layers sources: the first that knows a URL answers', () => {
    const override = { ...vitals, compose: { include: [{ system: LOINC, concept: [{ code: '8310-5' }] }] } };
    const result = expandValueSet(vitals.url, layeredSource([sourceOf(override), sourceOf(vitals)]));
    expect(result).toEqual({ codings: new Set([`${LOINC}|8310-5`]) });
  });

  it('expands shipped R4 and HL7 v2 ValueSets', () => {
    const category = shippedValueSetLookup('http://hl7.org/fhir/ValueSet/observation-category');
    expect(
      'codings' in category &&
        category.codings.has('http://terminology.hl7.org/CodeSystem/observation-category|vital-signs'),
    ).toBe(true);
    const v2 = shippedValueSetLookup('http://terminology.hl7.org/ValueSet/v2-0001');
    expect('codings' in v2 && v2.codings.has('http://terminology.hl7.org/CodeSystem/v2-0001|F')).toBe(true);
  });
});

describe('createExpansionCache', () => {
  it('keeps at most its limit, dropping the least recently used', () => {
    const cache = createExpansionCache(2);
    let computed = 0;
    const compute = () => {
      computed += 1;
      return { codings: new Set<string>() };
    };
    cache.getOrCompute('a', compute);
    cache.getOrCompute('b', compute);
    cache.getOrCompute('a', compute);
    cache.getOrCompute('c', compute);
    expect(cache.size).toBe(2);
    cache.getOrCompute('a', compute);
    expect(computed).toBe(3);
    cache.getOrCompute('b', compute);
    expect(computed).toBe(4);
  });
});
