import { describe, expect, it } from 'vitest';
import { CareLedgerError } from '../../../src/errors/index.js';
import {
  DEFAULT_SEARCH_COUNT,
  hashIndexValue,
  MAX_SEARCH_COUNT,
  planSearch,
  type SearchHandling,
} from '../../../src/fhir/search/index.js';
import { createKeyedHash } from './synthea-fixture.js';

/** Shows what is hashed: a test-only "hash" that is the message itself. */
const transparent = (value: string): string => value;
const strict = { handling: 'strict' as SearchHandling, now: Date.UTC(2025, 0, 1) };
const lenient = { handling: 'lenient' as SearchHandling, now: Date.UTC(2025, 0, 1) };

function plan(resourceType: string, query: Record<string, string | string[]>, handling = strict) {
  return planSearch(resourceType, query, transparent, handling);
}

function invalid(run: () => unknown): CareLedgerError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CareLedgerError);
    expect((error as CareLedgerError).code).toBe('ERR_INVALID_INPUT');
    return error as CareLedgerError;
  }
  throw new Error('expected ERR_INVALID_INPUT');
}

const h = (
  resourceType: string,
  param: string,
  kind: 'token' | 'reference' | 'string-prefix' | 'uri',
  value: string,
) => hashIndexValue(transparent, resourceType, param, kind, value);

describe('planSearch: index filters', () => {
  it('token forms: code, system|code, system|, |code', () => {
    const { indexFilters } = plan('Observation', {
      code: 'http://loinc.org|8302-2,8302-2,http://LOINC.org|,|8302-2',
    });
    expect(indexFilters).toEqual([
      {
        param: 'code',
        hashes: [
          h('Observation', 'code', 'token', 'http://loinc.org|8302-2'),
          h('Observation', 'code', 'token', '8302-2'),
          h('Observation', 'code', 'token', 'http://loinc.org|'),
        ],
      },
    ]);
  });

  it('repeated parameters are ANDed, comma values ORed', () => {
    const { indexFilters } = plan('Observation', { status: ['final,amended', 'final'] });
    expect(indexFilters.map((filter) => filter.hashes.length)).toEqual([2, 1]);
  });

  it('references: base URL, version and type modifier normalize to Type/id; a bare id stays an id', () => {
    const { indexFilters, residual } = plan('Observation', {
      subject: 'https://fhir.example.org/r4/Patient/123/_history/7',
      'subject:Patient': '456',
      patient: '789',
    });
    expect(indexFilters).toEqual([
      { param: 'subject', hashes: [h('Observation', 'subject', 'reference', 'Patient/123')] },
      { param: 'subject', hashes: [h('Observation', 'subject', 'reference', 'Patient/456')] },
      { param: 'patient', hashes: [h('Observation', 'patient', 'reference', '789')] },
    ]);
    expect(residual.filters?.[1]).toEqual({ code: 'subject', operator: 'eq', value: 'Patient/456' });
  });

  it('strings: normalized first-word prefixes of at most 16 characters; :contains is not indexed', () => {
    const long = 'Wolfeschlegelsteinhausenbergerdorff';
    expect(plan('Patient', { name: 'ÉLODIE  Marie-Ann' }).indexFilters).toEqual([
      { param: 'name', hashes: [h('Patient', 'name', 'string-prefix', 'elodie')] },
      { param: 'name', hashes: [h('Patient', 'name', 'string-prefix', 'marie')] },
      { param: 'name', hashes: [h('Patient', 'name', 'string-prefix', 'ann')] },
    ]);
    expect(plan('Patient', { family: `${long},Sm` }).indexFilters).toEqual([
      {
        param: 'family',
        hashes: [
          h('Patient', 'family', 'string-prefix', 'wolfeschlegelste'),
          h('Patient', 'family', 'string-prefix', 'sm'),
        ],
      },
    ]);
    expect(plan('Patient', { 'family:contains': 'mit' }).indexFilters).toEqual([]);
    expect(plan('Patient', { 'family:exact': 'Smith' }).indexFilters).toHaveLength(1);
  });

  it('dates, quantities, :missing, :not and :text stay out of the index', () => {
    const result = plan('Observation', {
      date: 'ge2020-01-01',
      'value-quantity': 'gt5.4|http://unitsofmeasure.org|mg',
      'code:missing': 'false',
      'status:not': 'final',
      'code:text': 'height',
    });
    expect(result.indexFilters).toEqual([]);
    expect(result.residual.filters).toEqual([
      { code: 'date', operator: 'ge', value: '2020-01-01' },
      { code: 'value-quantity', operator: 'gt', value: '5.4|http://unitsofmeasure.org|mg' },
      { code: 'code', operator: 'missing', value: 'false' },
      { code: 'status', operator: 'not', value: 'final' },
      { code: 'code', operator: 'text', value: 'height' },
    ]);
  });

  it('_tag, _security, _profile are indexed; _id becomes the id column', () => {
    const result = plan('Patient', {
      _tag: 'https://smarthealthit.org/tags|synthea-5-2019',
      _security: 'R',
      _profile: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient',
      _id: ['a,b,c', 'b,c,d'],
    });
    expect(result.indexFilters.map((filter) => filter.param)).toEqual(['_tag', '_security', '_profile']);
    expect(result.id).toEqual(['b', 'c']);
  });
});

describe('planSearch: result parameters', () => {
  it('defaults', () => {
    const result = plan('Patient', {});
    expect(result).toMatchObject({
      count: DEFAULT_SEARCH_COUNT,
      offset: 0,
      sort: [],
      total: 'none',
      include: [],
      revinclude: [],
      ignored: [],
    });
    expect(result.id).toBeUndefined();
    expect(result.lastUpdated).toBeUndefined();
  });

  it('_count, _offset, _total, _summary=count, _sort, _lastUpdated', () => {
    const result = plan('Observation', {
      _count: '5000',
      _offset: '40',
      _total: 'estimate',
      _sort: '-date,code,_lastUpdated',
      _lastUpdated: ['ge2024-01-01', 'lt2024-02-01T00:00:00Z'],
    });
    expect(result.count).toBe(MAX_SEARCH_COUNT);
    expect(result.offset).toBe(40);
    expect(result.total).toBe('accurate');
    expect(result.sort).toEqual([
      { code: 'date', descending: true },
      { code: 'code', descending: false },
      { code: '_lastUpdated', descending: false },
    ]);
    expect(result.lastUpdated).toEqual([
      { prefix: 'ge', value: '2024-01-01' },
      { prefix: 'lt', value: '2024-02-01T00:00:00Z' },
    ]);
    expect(plan('Patient', { _summary: 'count' })).toMatchObject({ count: 0, total: 'accurate' });
  });

  it('_include and _revinclude, with :iterate', () => {
    const result = plan('Observation', {
      _include: 'Observation:subject:Patient',
      '_include:iterate': 'Patient:general-practitioner',
      _revinclude: 'Provenance:target',
    });
    expect(result.include).toEqual([
      { resourceType: 'Observation', searchParam: 'subject', targetType: 'Patient' },
      { resourceType: 'Patient', searchParam: 'general-practitioner', modifier: 'iterate' },
    ]);
    expect(result.revinclude).toEqual([{ resourceType: 'Provenance', searchParam: 'target' }]);
    expect(result.residual.include).toEqual(result.include);
  });

  it('accepts URLSearchParams as well as a record', () => {
    const query = new URLSearchParams('family=Sm&family=Jo&_count=3');
    const result = planSearch('Patient', query, transparent, strict);
    expect(result.indexFilters).toHaveLength(2);
    expect(result.count).toBe(3);
  });
});

describe('planSearch: rejected input', () => {
  const unknown: [string, string, Record<string, string>][] = [
    ['Patient', 'foo', { foo: 'x' }],
    ['Patient', 'nmae', { nmae: 'x' }],
    ['Patient', 'code', { code: 'x' }],
    ['Observation', '_text', { _text: 'x' }],
    ['Observation', '_content', { _content: 'x' }],
    ['Observation', '_filter', { _filter: 'x' }],
    ['Observation', '_contained', { _contained: 'true' }],
    ['Location', 'near:missing', { 'near:missing': 'true' }],
    ['Observation', '_has:Observation:patient:code', { '_has:Observation:patient:code': '1234' }],
    ['Observation', 'subject.colour', { 'subject.colour': 'peter' }],
    ['Observation', 'status.name', { 'status.name': 'peter' }],
    ['Observation', 'subject:Patient.a.b.c.d', { 'subject:Patient.a.b.c.d': 'peter' }],
    ['Observation', 'code:below', { 'code:below': 'x' }],
    ['Observation', 'code:in', { 'code:in': 'http://vs' }],
    ['Observation', 'subject:above', { 'subject:above': 'a|b' }],
    ['Observation', 'subject:Organization', { 'subject:Organization': '1' }],
    ['Observation', 'status:exact', { 'status:exact': 'final' }],
    ['Patient', 'name:text', { 'name:text': 'x' }],
    ['Patient', '_sort', { _sort: 'shoe-size' }],
    ['Patient', '_include', { _include: 'Patient:name' }],
    ['Patient', 'name', { name: '' }],
  ];

  it.each(unknown)(
    '%s?%s: strict names the parameter, lenient ignores and reports it',
    (type, key, query) => {
      const error = invalid(() => plan(type, query, strict));
      expect(error.message).toContain(JSON.stringify(key));
      expect(error.details.parameter).toBe(key);
      const result = plan(type, query, lenient);
      expect(result.ignored).toEqual([key]);
      expect(result.indexFilters).toEqual([]);
    },
  );

  it('a chain no target type can follow says so', () => {
    expect(invalid(() => plan('Observation', { 'subject.colour': 'peter' })).message).toContain(
      'no target type of the reference has the chained parameter',
    );
  });

  it('chained, _has and composite parameters are planned, not ignored', () => {
    const result = plan('Observation', {
      'subject:Patient.organization.name': 'acme',
      'code-value-quantity': 'http://loinc.org|8480-6$gt100',
    });
    expect(result.ignored).toEqual([]);
    expect(result.joins).toEqual([
      expect.objectContaining({
        kind: 'chain',
        param: 'subject',
        targetTypes: ['Patient'],
        inner: [['organization.name', 'acme']],
      }),
    ]);
    expect(result.indexFilters.map((f) => f.param)).toEqual(['code']);
    const has = plan('Patient', { '_has:Observation:patient:_has:Provenance:target:agent': 'x' });
    expect(has.joins).toEqual([
      expect.objectContaining({
        kind: 'has',
        sourceType: 'Observation',
        param: 'patient',
        inner: [['_has:Provenance:target:agent', 'x']],
      }),
    ]);
  });

  const badValues: [string, string, Record<string, string>][] = [
    ['Observation', 'date', { date: '2023-02-30' }],
    ['Observation', 'date', { date: 'ge2023-02-29' }],
    ['Observation', 'date', { date: '2023-13' }],
    ['Observation', 'date', { date: '2023-01-01T24:00:00Z' }],
    ['Observation', 'date', { date: '2023-01-01T10:00:00+15:00' }],
    ['Observation', 'date', { date: 'xx2023-01-01' }],
    ['Observation', 'date', { date: 'ge2023-01-01,yesterday' }],
    ['Observation', 'value-quantity', { 'value-quantity': 'gtfive' }],
    ['Observation', 'value-quantity', { 'value-quantity': '5|a' }],
    ['Patient', '_count', { _count: '-1' }],
    ['Patient', '_count', { _count: 'abc' }],
    ['Patient', '_count', { _count: '1.5' }],
    ['Patient', '_offset', { _offset: '-3' }],
    ['Patient', '_total', { _total: 'some' }],
    ['Patient', 'name:missing', { 'name:missing': 'maybe' }],
    ['Patient', '_include', { _include: 'Patient' }],
    ['Observation', '_id', { _id: 'sys|1' }],
    ['Observation', 'subject:Patient', { 'subject:Patient': 'Practitioner/1' }],
  ];

  it.each(badValues)(
    '%s?%s bad value: ERR_INVALID_INPUT naming the parameter in either mode',
    (type, key, query) => {
      for (const handling of [strict, lenient]) {
        const error = invalid(() => plan(type, query, handling));
        expect(error.details.parameter).toBe(key);
        expect(error.message).toContain(JSON.stringify(key));
        // The value may be PHI: it is never echoed.
        expect(error.message).not.toContain(Object.values(query)[0]);
      }
    },
  );

  it('accepts leap days and 0001', () => {
    expect(() => plan('Observation', { date: ['2024-02-29', 'ge0001'] })).not.toThrow();
  });

  it('refuses resource types the vault does not store', () => {
    expect(invalid(() => plan('OperationOutcome', {})).details.parameter).toBe('resourceType');
    expect(invalid(() => plan('Parameters', {})).details.parameter).toBe('resourceType');
    expect(() => plan('Claim', {})).not.toThrow();
  });

  it('SQL metacharacters are just values: they only ever become hashes', () => {
    const keyedHash = createKeyedHash();
    const hostile = ["Robert'); DROP TABLE resources;--", '" OR 1=1 --', "x' UNION SELECT * FROM keys; --"];
    for (const value of hostile) {
      const result = planSearch(
        'Patient',
        { name: value, identifier: value, organization: value },
        keyedHash,
        strict,
      );
      for (const filter of result.indexFilters) {
        expect(['name', 'identifier', 'organization']).toContain(filter.param);
        for (const hash of filter.hashes) expect(hash).toMatch(/^[0-9a-f]{64}$/);
      }
    }
  });
});
