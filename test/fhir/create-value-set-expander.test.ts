import { describe, expect, it } from 'vitest';
import { createValueSetExpander } from '../../src/fhir/index.js';

const codeSystem = {
  resourceType: 'CodeSystem',
  url: 'http://x.org/cs',
  content: 'complete',
  concept: [{ code: 'a', concept: [{ code: 'a1' }] }, { code: 'b' }],
};
const expander = createValueSetExpander([
  codeSystem,
  { resourceType: 'CodeSystem', url: 'http://x.org/fragment', content: 'fragment', concept: [{ code: 'f' }] },
  {
    resourceType: 'ValueSet',
    url: 'http://x.org/all',
    compose: { include: [{ system: 'http://x.org/cs' }] },
  },
  {
    resourceType: 'ValueSet',
    url: 'http://x.org/some',
    compose: { include: [{ system: 'http://x.org/cs', concept: [{ code: 'b' }] }] },
  },
  {
    resourceType: 'ValueSet',
    url: 'http://x.org/excluding',
    compose: {
      include: [{ valueSet: ['http://x.org/all|1.0'] }],
      exclude: [{ system: 'http://x.org/cs', concept: [{ code: 'a' }] }],
    },
  },
  {
    resourceType: 'ValueSet',
    url: 'http://x.org/filtered',
    compose: {
      include: [{ system: 'http://x.org/cs', filter: [{ property: 'concept', op: 'is-a', value: 'a' }] }],
    },
  },
  {
    resourceType: 'ValueSet',
    url: 'http://x.org/external',
    compose: { include: [{ system: 'http://snomed.info/sct' }] },
  },
  {
    resourceType: 'ValueSet',
    url: 'http://x.org/partial',
    compose: { include: [{ system: 'http://x.org/fragment' }] },
  },
  {
    resourceType: 'ValueSet',
    url: 'http://x.org/loop',
    compose: { include: [{ valueSet: ['http://x.org/loop'] }] },
  },
]);

describe('createValueSetExpander', () => {
  it('expands a whole complete code system, nested concepts included', () => {
    expect([...(expander.expand('http://x.org/all')?.codings ?? [])]).toEqual([
      'http://x.org/cs|a',
      'http://x.org/cs|a1',
      'http://x.org/cs|b',
    ]);
  });
  it('expands enumerated concepts, ignoring a |version suffix', () => {
    expect([...(expander.expand('http://x.org/some|4.0.1')?.codes ?? [])]).toEqual(['b']);
  });
  it('applies imports and excludes', () => {
    expect([...(expander.expand('http://x.org/excluding')?.codes ?? [])]).toEqual(['a1', 'b']);
  });
  it.each(['filtered', 'external', 'partial', 'loop', 'unknown'])('cannot expand %s', (name) => {
    expect(expander.expand(`http://x.org/${name}`)).toBeUndefined();
  });
});
