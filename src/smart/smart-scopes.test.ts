import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { reasonOf } from '../../test/support/reason-of.js';
import type { CareLedgerError } from '../errors/index.js';
import {
  createScopeFilter,
  evaluateScopes,
  formatScopes,
  isScopeSubset,
  NAMED_SCOPES,
  narrowScopes,
  parseScope,
  parseScopes,
  type ResourceScope,
  type Scope,
  type ScopeRequest,
} from './smart-scopes.js';

const CATEGORY = 'http://terminology.hl7.org/CodeSystem/observation-category';
const LAB_SCOPE = `patient/Observation.rs?category=${CATEGORY}|laboratory`;

/** An Observation in one category; `system: null` leaves the coding without a system. */
function observation(code: string, system: string | null = CATEGORY) {
  return {
    resourceType: 'Observation',
    id: code,
    status: 'final',
    category: [{ coding: [system === null ? { code } : { system, code }] }],
    code: { text: 'x' },
  };
}
const lab = observation('laboratory');
const vitals = observation('vital-signs');

function allows(scopes: string, request: ScopeRequest): boolean {
  return evaluateScopes(parseScopes(scopes), request).allowed;
}

describe('parseScopes', () => {
  test('a v2 resource scope', () => {
    expect(parseScopes('patient/Observation.rs')).toEqual([
      {
        kind: 'resource',
        context: 'patient',
        resourceType: 'Observation',
        permissions: ['r', 's'],
        query: [],
        syntax: 'v2',
      },
    ]);
  });

  test.each([
    ['patient/Patient.r', 'patient', 'Patient', ['r']],
    ['user/Condition.cud', 'user', 'Condition', ['c', 'u', 'd']],
    ['system/*.cruds', 'system', '*', ['c', 'r', 'u', 'd', 's']],
    ['user/Encounter.s', 'user', 'Encounter', ['s']],
    ['patient/MedicationRequest.crs', 'patient', 'MedicationRequest', ['c', 'r', 's']],
    ['system/Observation.d', 'system', 'Observation', ['d']],
  ])('%s', (text, context, resourceType, permissions) => {
    expect(parseScope(text)).toMatchObject({
      kind: 'resource',
      context,
      resourceType,
      permissions,
      syntax: 'v2',
    });
  });

  test.each([
    ['patient/Observation.read', ['r', 's']],
    ['user/*.write', ['c', 'u', 'd']],
    ['system/Patient.*', ['c', 'r', 'u', 'd', 's']],
  ])('SMART v1 %s is the v2 equivalent', (text, permissions) => {
    expect(parseScope(text)).toMatchObject({ kind: 'resource', permissions, syntax: 'v1' });
    expect(formatScopes(parseScopes(text))).toBe(text);
  });

  test('identity, context and refresh scopes', () => {
    const text = NAMED_SCOPES.join(' ');
    expect(parseScopes(text)).toEqual(NAMED_SCOPES.map((name) => ({ kind: 'named', name })));
    expect(formatScopes(parseScopes(text))).toBe(text);
  });

  test('unknown but well-formed scopes are kept as other', () => {
    for (const text of [
      'https://example.org/scope',
      'launch/location',
      'smart/orchestrate_launch',
      'admin/Observation.rs',
    ]) {
      expect(parseScope(text)).toEqual({ kind: 'other', text });
    }
  });

  test('query-limited scopes', () => {
    expect(parseScope(LAB_SCOPE)).toMatchObject({
      permissions: ['r', 's'],
      query: [['category', `${CATEGORY}|laboratory`]],
    });
    expect(
      parseScope('patient/Observation.rs?category=laboratory&code:in=http://vs.example/diabetes'),
    ).toMatchObject({
      query: [
        ['category', 'laboratory'],
        ['code:in', 'http://vs.example/diabetes'],
      ],
    });
    expect(formatScopes(parseScopes(LAB_SCOPE))).toBe(LAB_SCOPE);
  });

  test('splits on runs of spaces and drops duplicates', () => {
    expect(formatScopes(parseScopes(' openid  fhirUser patient/*.rs openid '))).toBe(
      'openid fhirUser patient/*.rs',
    );
    expect(parseScopes('')).toEqual([]);
  });

  test.each([
    ['patient/Observation.sr', 'permissions-order'],
    ['patient/Observation.rr', 'permissions-order'],
    ['user/*.scrud', 'permissions-order'],
    ['patient/Observation.dc', 'permissions-order'],
    ['patient/Observation.', 'malformed-permissions'],
    ['patient/Observation.readwrite', 'malformed-permissions'],
    ['patient/Observation.x', 'malformed-permissions'],
    ['patient/Observation', 'malformed-resource-scope'],
    ['patient/observation.rs', 'malformed-resource-scope'],
    ['patient/.rs', 'malformed-resource-scope'],
    ['patient/Obs-ervation.rs', 'malformed-resource-scope'],
    ['patient/Observation.rs?', 'malformed-query'],
    ['patient/Observation.rs?category', 'malformed-query'],
    ['patient/Observation.rs?category=', 'malformed-query'],
    ['patient/Observation.rs?category=|', 'malformed-query'],
    ['patient/Observation.rs?category=a,,b', 'malformed-query'],
    ['patient/Observation.rs?=laboratory', 'malformed-query'],
    ['patient/Observation.read?category=laboratory', 'malformed-query'],
    ['openid\tprofile', 'invalid-characters'],
    ['patient/Observation.rs?category="x"', 'invalid-characters'],
    ['scope\\x', 'invalid-characters'],
    ['patient/Observation.rs?category=é', 'invalid-characters'],
  ])('%s is invalid (%s)', (text, reason) => {
    expect(reasonOf(() => parseScopes(text))).toBe(`ERR_INVALID_INPUT:${reason}`);
  });

  test('says which scope is invalid', () => {
    try {
      parseScopes('openid patient/Observation.sr');
      expect.unreachable();
    } catch (e) {
      expect((e as CareLedgerError).details).toEqual({ reason: 'permissions-order', index: 1 });
    }
  });
});

describe('evaluateScopes', () => {
  test('permissions, resource types and contexts', () => {
    const read = { context: 'patient', resourceType: 'Observation', interaction: 'r' } as const;
    expect(allows('patient/Observation.rs', read)).toBe(true);
    expect(allows('patient/Observation.rs', { ...read, interaction: 's' })).toBe(true);
    expect(allows('patient/Observation.rs', { ...read, interaction: 'c' })).toBe(false);
    expect(allows('patient/Observation.rs', { ...read, resourceType: 'Condition' })).toBe(false);
    // A patient/ scope says nothing about user or system requests, and the other way round.
    expect(allows('patient/Observation.rs', { ...read, context: 'user' })).toBe(false);
    expect(allows('user/Observation.rs system/Observation.rs', read)).toBe(false);
    expect(allows('system/Patient.r', { context: 'system', resourceType: 'Patient', interaction: 'r' })).toBe(
      true,
    );
    expect(evaluateScopes(parseScopes('openid fhirUser'), read)).toEqual({
      allowed: false,
      reason: 'no-matching-scope',
    });
  });

  test('wildcard resource types', () => {
    for (const resourceType of ['Observation', 'Patient', 'DocumentReference']) {
      expect(allows('patient/*.rs', { context: 'patient', resourceType, interaction: 'r' })).toBe(true);
      expect(allows('patient/*.rs', { context: 'patient', resourceType, interaction: 'u' })).toBe(false);
      expect(allows('user/*.cruds', { context: 'user', resourceType, interaction: 'd' })).toBe(true);
    }
  });

  test('v1 scopes grant their v2 equivalents', () => {
    const request = (interaction: ScopeRequest['interaction']) =>
      ({ context: 'patient', resourceType: 'Observation', interaction }) as const;
    expect(['c', 'r', 'u', 'd', 's'].filter((i) => allows('patient/*.read', request(i as never)))).toEqual([
      'r',
      's',
    ]);
    expect(['c', 'r', 'u', 'd', 's'].filter((i) => allows('patient/*.write', request(i as never)))).toEqual([
      'c',
      'u',
      'd',
    ]);
    expect(['c', 'r', 'u', 'd', 's'].filter((i) => allows('patient/*.*', request(i as never)))).toHaveLength(
      5,
    );
  });

  test('invalid requests are denied', () => {
    const scopes = parseScopes('patient/*.cruds');
    for (const request of [
      { context: 'patient', resourceType: '*', interaction: 'r' },
      { context: 'patient', resourceType: 'observation', interaction: 'r' },
      { context: 'patient', resourceType: 'Observation', interaction: 'x' },
      { context: 'admin', resourceType: 'Observation', interaction: 'r' },
    ]) {
      expect(evaluateScopes(scopes, request as ScopeRequest)).toEqual({
        allowed: false,
        reason: 'invalid-request',
      });
    }
  });

  describe('query-limited scopes', () => {
    const read = { context: 'patient', resourceType: 'Observation', interaction: 'r' } as const;
    const scopes = parseScopes(LAB_SCOPE);

    test('a read needs the resource and its category', () => {
      expect(evaluateScopes(scopes, { ...read, resource: lab })).toEqual({ allowed: true });
      expect(evaluateScopes(scopes, { ...read, resource: vitals })).toEqual({
        allowed: false,
        reason: 'query-not-satisfied',
      });
      expect(evaluateScopes(scopes, read)).toEqual({ allowed: false, reason: 'resource-required' });
      expect(evaluateScopes(scopes, { ...read, resource: { ...lab, resourceType: 'Condition' } })).toEqual({
        allowed: false,
        reason: 'query-not-satisfied',
      });
      expect(
        evaluateScopes(scopes, { ...read, resource: observation('laboratory', 'http://other.example') }),
      ).toEqual({ allowed: false, reason: 'query-not-satisfied' });
      expect(evaluateScopes(scopes, { ...read, resource: { ...lab, category: undefined } })).toEqual({
        allowed: false,
        reason: 'query-not-satisfied',
      });
    });

    test('a search is allowed; its results are filtered', () => {
      expect(evaluateScopes(scopes, { ...read, interaction: 's' })).toEqual({ allowed: true });
      const filter = createScopeFilter(scopes, { ...read, interaction: 's' });
      expect(filter).toMatchObject({ allowed: true, unrestricted: false });
      expect(filter.queries).toEqual([[['category', `${CATEGORY}|laboratory`]]]);
      expect([lab, vitals, observation('laboratory', null)].filter((r) => filter.matches(r))).toEqual([lab]);
      expect(filter.matches({ ...lab, resourceType: 'DiagnosticReport' })).toBe(false);
      expect(filter.matches(null)).toBe(false);
    });

    test('the query does not extend the permissions', () => {
      expect(evaluateScopes(scopes, { ...read, interaction: 'u', resource: lab })).toEqual({
        allowed: false,
        reason: 'no-matching-scope',
      });
    });

    test('creates and updates are checked against the resource', () => {
      const write = parseScopes('patient/Observation.cu?category=laboratory');
      expect(evaluateScopes(write, { ...read, interaction: 'c', resource: lab }).allowed).toBe(true);
      expect(evaluateScopes(write, { ...read, interaction: 'u', resource: vitals }).allowed).toBe(false);
    });

    test.each([
      ['laboratory', observation('laboratory', 'http://any.example'), true],
      ['laboratory', observation('laboratory', null), true],
      ['|laboratory', observation('laboratory', null), true],
      ['|laboratory', lab, false],
      [`${CATEGORY}|`, vitals, true],
      [`${CATEGORY}|`, observation('vital-signs', 'http://other.example'), false],
      ['laboratory,vital-signs', vitals, true],
      ['laboratory,imaging', vitals, false],
    ])('category=%s (FHIR token search semantics)', (value, resource, expected) => {
      expect(allows(`patient/Observation.r?category=${value}`, { ...read, resource })).toBe(expected);
    });

    test('several parameters must all hold', () => {
      const both = `patient/Observation.r?category=laboratory&category=vital-signs`;
      expect(allows(both, { ...read, resource: lab })).toBe(false);
      const labAndVitals = {
        ...lab,
        category: [lab.category[0], vitals.category[0]],
      };
      expect(allows(both, { ...read, resource: labAndVitals })).toBe(true);
    });

    test('category as one CodeableConcept or as bare codes', () => {
      const procedure = {
        resourceType: 'Procedure',
        category: { coding: [{ system: 'http://snomed.info/sct', code: '387713003' }] },
      };
      expect(
        allows('patient/Procedure.r?category=http://snomed.info/sct|387713003', {
          context: 'patient',
          resourceType: 'Procedure',
          interaction: 'r',
          resource: procedure,
        }),
      ).toBe(true);
      const allergy = { resourceType: 'AllergyIntolerance', category: ['food'] };
      const request = { context: 'patient', resourceType: 'AllergyIntolerance', interaction: 'r' } as const;
      expect(allows('patient/AllergyIntolerance.r?category=food', { ...request, resource: allergy })).toBe(
        true,
      );
      expect(
        allows('patient/AllergyIntolerance.r?category=medication', { ...request, resource: allergy }),
      ).toBe(false);
    });

    test('a scope limited by a parameter that cannot be checked grants nothing', () => {
      const codeIn = parseScopes('patient/Observation.rs?code:in=http://vs.example/diabetes');
      expect(evaluateScopes(codeIn, { ...read, resource: lab })).toEqual({
        allowed: false,
        reason: 'unsupported-query',
      });
      expect(evaluateScopes(codeIn, { ...read, interaction: 's' })).toEqual({
        allowed: false,
        reason: 'unsupported-query',
      });
      expect(createScopeFilter(codeIn, { ...read, interaction: 's' }).allowed).toBe(false);
    });

    test('an unrestricted scope next to a limited one wins', () => {
      const mixed = parseScopes(`${LAB_SCOPE} patient/Observation.r`);
      expect(evaluateScopes(mixed, { ...read, resource: vitals })).toEqual({ allowed: true });
      expect(evaluateScopes(mixed, read)).toEqual({ allowed: true });
      // Search is only granted by the limited scope.
      const filter = createScopeFilter(mixed, { ...read, interaction: 's' });
      expect(filter.unrestricted).toBe(false);
      expect(filter.matches(vitals)).toBe(false);
      expect(createScopeFilter(mixed, read)).toMatchObject({
        allowed: true,
        unrestricted: true,
        queries: [],
      });
      expect(createScopeFilter(mixed, read).matches(vitals)).toBe(true);
    });

    test('two limited scopes are alternatives', () => {
      const filter = createScopeFilter(
        parseScopes(`${LAB_SCOPE} patient/Observation.s?category=vital-signs`),
        {
          ...read,
          interaction: 's',
        },
      );
      expect(filter.queries).toHaveLength(2);
      expect(filter.matches(lab) && filter.matches(vitals)).toBe(true);
      expect(filter.matches(observation('imaging'))).toBe(false);
    });
  });

  test('createScopeFilter with nothing granted matches nothing', () => {
    const filter = createScopeFilter(parseScopes('openid user/Observation.rs'), {
      context: 'patient',
      resourceType: 'Observation',
      interaction: 's',
    });
    expect(filter).toMatchObject({ allowed: false, unrestricted: false, queries: [] });
    expect(filter.matches(lab)).toBe(false);
  });
});

describe('isScopeSubset', () => {
  const subset = (requested: string, granted: string) =>
    isScopeSubset(parseScopes(requested), parseScopes(granted));

  test.each([
    ['patient/Observation.rs', 'patient/Observation.rs', true],
    ['patient/Observation.rs', 'patient/Observation.read', true],
    ['patient/Observation.read', 'patient/Observation.rs', true],
    ['patient/Observation.r', 'patient/Observation.rs', true],
    ['patient/Observation.rs', 'patient/Observation.r', false],
    ['patient/Observation.cruds', 'patient/Observation.read patient/Observation.write', false],
    ['patient/Observation.r', 'patient/*.rs', true],
    ['patient/*.r', 'patient/Observation.rs', false],
    ['user/Observation.r', 'patient/Observation.r', false],
    [LAB_SCOPE, 'patient/Observation.rs', true],
    ['patient/Observation.rs', LAB_SCOPE, false],
    [
      `patient/Observation.r?category=${CATEGORY}|laboratory`,
      'patient/Observation.r?category=laboratory',
      true,
    ],
    [
      'patient/Observation.r?category=laboratory',
      `patient/Observation.r?category=${CATEGORY}|laboratory`,
      false,
    ],
    [
      'patient/Observation.r?category=laboratory',
      'patient/Observation.r?category=laboratory,vital-signs',
      true,
    ],
    [
      'patient/Observation.r?category=laboratory,vital-signs',
      'patient/Observation.r?category=laboratory',
      false,
    ],
    [
      `patient/Observation.r?category=${CATEGORY}|laboratory`,
      `patient/Observation.r?category=${CATEGORY}|`,
      true,
    ],
    ['patient/Observation.r?category=a&category=b', 'patient/Observation.r?category=a', true],
    ['patient/Observation.r?category=a', 'patient/Observation.r?category=a&category=b', false],
    ['patient/Observation.r?code:in=x', 'patient/Observation.r?code:in=x', true],
    ['patient/Observation.r?code:in=x', 'patient/Observation.r?code:in=y', false],
    ['openid offline_access', 'openid fhirUser offline_access', true],
    ['openid offline_access', 'openid fhirUser patient/*.rs', false],
    ['https://example.org/x', 'https://example.org/x', true],
    ['https://example.org/x', 'https://example.org/y', false],
    ['', 'openid', true],
  ])('%s within %s: %s', (requested, granted, expected) => {
    expect(subset(requested, granted)).toBe(expected);
  });
});

describe('narrowScopes', () => {
  const narrow = (requested: string, allowed: string) =>
    formatScopes(narrowScopes(parseScopes(requested), parseScopes(allowed)));

  test('grants the overlap of the request and what the user may have', () => {
    expect(
      narrow(
        'launch/patient openid fhirUser offline_access patient/*.cruds https://example.org/custom',
        'patient/Observation.rs patient/Condition.r openid fhirUser launch/patient',
      ),
    ).toBe('launch/patient openid fhirUser patient/Observation.rs patient/Condition.r');
  });

  test.each([
    ['patient/*.read', 'patient/Observation.cruds', 'patient/Observation.read'],
    // The grant is written in the syntax the client asked in.
    ['patient/Observation.cruds', 'patient/*.read', 'patient/Observation.rs'],
    ['patient/Observation.crs', 'patient/*.rs', 'patient/Observation.rs'],
    ['patient/Observation.rs', LAB_SCOPE, LAB_SCOPE],
    [LAB_SCOPE, 'patient/*.cruds', LAB_SCOPE],
    [
      'patient/Observation.rs?category=laboratory',
      'patient/Observation.rs?category=vital-signs',
      'patient/Observation.rs?category=laboratory&category=vital-signs',
    ],
    ['user/Observation.r', 'patient/Observation.r', ''],
    ['patient/Observation.c', 'patient/Observation.rs', ''],
    ['patient/Observation.r patient/Observation.rs', 'patient/*.cruds', 'patient/Observation.rs'],
    ['patient/*.rs', 'patient/*.rs patient/Observation.r', 'patient/*.rs'],
  ])('%s against %s gives %s', (requested, allowed, expected) => {
    expect(narrow(requested, allowed)).toBe(expected);
  });

  // Small universes, so that random scopes overlap often.
  const resourceScope = fc.record({
    kind: fc.constant('resource' as const),
    context: fc.constantFrom('patient' as const, 'user' as const),
    resourceType: fc.constantFrom('*', 'Observation', 'Condition'),
    permissions: fc
      .subarray(['c', 'r', 'u', 'd', 's'] as const, { minLength: 1 })
      .map((p) => p as ResourceScope['permissions']),
    query: fc.constantFrom<ResourceScope['query']>(
      [],
      [['category', 'laboratory']],
      [['category', `${CATEGORY}|laboratory`]],
      [['category', 'laboratory,vital-signs']],
      [['category', `${CATEGORY}|`]],
    ),
    syntax: fc.constant('v2' as const),
  });
  const scope: fc.Arbitrary<Scope> = fc.oneof(
    resourceScope,
    fc.constantFrom<Scope>({ kind: 'named', name: 'openid' }, { kind: 'named', name: 'offline_access' }),
  );
  const scopeList = fc.array(scope, { maxLength: 5 });
  const requests: ScopeRequest[] = [];
  for (const context of ['patient', 'user'] as const) {
    for (const resourceType of ['Observation', 'Condition']) {
      for (const interaction of ['c', 'r', 'u', 'd', 's'] as const) {
        for (const resource of [undefined, lab, vitals, observation('vital-signs', null)]) {
          const typed = resource === undefined ? undefined : { ...resource, resourceType };
          requests.push({ context, resourceType, interaction, resource: typed });
        }
      }
    }
  }

  test('the grant is within both the request and the allowance, and never permits more', () => {
    fc.assert(
      fc.property(scopeList, scopeList, (requested, allowed) => {
        const granted = narrowScopes(requested, allowed);
        expect(isScopeSubset(granted, allowed)).toBe(true);
        expect(isScopeSubset(granted, requested)).toBe(true);
        for (const request of requests) {
          if (evaluateScopes(granted, request).allowed) {
            expect(evaluateScopes(requested, request).allowed).toBe(true);
            expect(evaluateScopes(allowed, request).allowed).toBe(true);
          }
        }
      }),
    );
  });

  test('isScopeSubset is sound: a subset never permits what its superset does not', () => {
    fc.assert(
      fc.property(scopeList, scopeList, (a, b) => {
        if (!isScopeSubset(a, b)) return;
        for (const request of requests) {
          if (evaluateScopes(a, request).allowed) expect(evaluateScopes(b, request).allowed).toBe(true);
          const filterA = createScopeFilter(a, request);
          const filterB = createScopeFilter(b, request);
          if (request.resource !== undefined && filterA.matches(request.resource)) {
            expect(filterB.matches(request.resource)).toBe(true);
          }
        }
      }),
    );
  });

  test('granting what was asked for and allowed is idempotent', () => {
    fc.assert(
      fc.property(scopeList, scopeList, (requested, allowed) => {
        const granted = narrowScopes(requested, allowed);
        expect(formatScopes(narrowScopes(granted, allowed))).toBe(formatScopes(granted));
      }),
    );
  });
});
