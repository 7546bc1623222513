/**
 * The ported validator must report exactly what Medplum 4.5.2's does (the same issues, texts,
 * expressions and order; the same exception when it throws), on real data as found and on the same
 * data broken in many ways: it replaced Medplum's `validateResource` and `validateTypedValue` in
 * validate-resource.ts for speed alone (issue 16).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { OperationOutcomeError, validateResource, validateTypedValue } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { BULK_DIR, SYNTHEA_DIR } from '../../../test/support/shared-data.js';
import { loadFhirDefinitions } from '../load-fhir-definitions.js';
import { validateResourceAgainstBase, validateTypedValueAgainstSchema } from './validate-against-schema.js';

/** What a validation call gave: its issues, or the issues of the OperationOutcomeError it threw, or another error's message. */
function outcome(validate: () => unknown): string {
  try {
    return `returned ${JSON.stringify(validate())}`;
  } catch (error) {
    if (error instanceof OperationOutcomeError) return `threw ${JSON.stringify(error.outcome.issue)}`;
    return `failed ${(error as Error).message}`;
  }
}

interface Difference {
  readonly label: string;
  readonly medplum: string;
  readonly ours: string;
}

/** Both validators on copies of the resource (Medplum's may delete keys of `_` partners), and on each claimed loaded profile. */
function compare(label: string, resource: Record<string, unknown>): Difference[] {
  const differences: Difference[] = [];
  const medplum = outcome(() => validateResource(structuredClone(resource) as unknown as Resource));
  const ours = outcome(() => validateResourceAgainstBase(structuredClone(resource) as unknown as Resource));
  if (medplum !== ours) differences.push({ label, medplum, ours });
  const meta = resource.meta as { profile?: unknown } | undefined;
  const claimed = Array.isArray(meta?.profile) ? meta.profile : [];
  for (const canonical of claimed) {
    if (typeof canonical !== 'string') continue;
    const profile = loadFhirDefinitions().profiles.get(canonical);
    if (profile === undefined || profile.type !== resource.resourceType) continue;
    const typed = () => ({ type: profile.schemaKey, value: structuredClone(resource) });
    const medplumProfiled = outcome(() => validateTypedValue(typed()));
    const oursProfiled = outcome(() => validateTypedValueAgainstSchema(typed()));
    if (medplumProfiled !== oursProfiled) {
      differences.push({ label: `${label} as ${canonical}`, medplum: medplumProfiled, ours: oursProfiled });
    }
  }
  return differences;
}

function bulkResources(): Record<string, unknown>[] {
  return readdirSync(BULK_DIR)
    .filter((file) => /^[A-Z][A-Za-z]+\.[0-9]+\.ndjson$/.test(file))
    .flatMap((file) =>
      readFileSync(join(BULK_DIR, file), 'utf8')
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    );
}

function syntheaResources(): Record<string, unknown>[] {
  return readdirSync(SYNTHEA_DIR)
    .filter((file) => file.endsWith('.json'))
    .flatMap((file) => {
      const bundle = JSON.parse(readFileSync(join(SYNTHEA_DIR, file), 'utf8')) as {
        entry?: { resource: Record<string, unknown> }[];
      };
      return (bundle.entry ?? []).map((entry) => entry.resource);
    });
}

type Json = unknown;
type JsonObject = Record<string, Json>;

/** A place in a resource: the object or array holding a value, and its key. */
interface Spot {
  readonly parent: JsonObject | Json[];
  readonly key: string | number;
  readonly value: Json;
}

function spotsOf(root: JsonObject): Spot[] {
  const spots: Spot[] = [];
  const walk = (node: JsonObject | Json[]) => {
    const entries: [string | number, Json][] = Array.isArray(node)
      ? node.map((value, i) => [i, value])
      : Object.entries(node).filter(([key]) => key !== 'resourceType');
    for (const [key, value] of entries) {
      spots.push({ parent: node, key, value });
      if (typeof value === 'object' && value !== null) walk(value as JsonObject | Json[]);
    }
  };
  walk(root);
  return spots;
}

const set = (spot: Spot, value: Json) => {
  (spot.parent as Record<string | number, Json>)[spot.key] = value;
  return true;
};
const isObject = (value: Json): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
/** The object holding the spot, when the spot is a named element (not an array item). */
const holder = (spot: Spot) => (Array.isArray(spot.parent) ? undefined : spot.parent);

/** Ways to break a value in place; each says whether it applied at that spot. */
const BREAKS: readonly ((spot: Spot) => boolean)[] = [
  (s) => typeof s.value === 'string' && set(s, 42),
  (s) => typeof s.value === 'string' && set(s, ''),
  (s) => typeof s.value === 'string' && set(s, ' \t'),
  (s) => typeof s.value === 'string' && set(s, '2020-13-45T99'),
  (s) => typeof s.value === 'string' && set(s, 'Foo/1 x'),
  (s) => set(s, null),
  (s) => typeof s.value === 'number' && set(s, -1.5),
  (s) => typeof s.value === 'boolean' && set(s, 'true'),
  (s) => set(s, Array.isArray(s.value) ? s.value[0] : [s.value]),
  (s) => typeof s.value === 'object' && s.value !== null && set(s, Array.isArray(s.value) ? [] : {}),
  (s) => holder(s) !== undefined && Reflect.deleteProperty(s.parent, s.key),
  (s) =>
    isObject(s.value) &&
    Object.assign(s.value, { bogusElement: 1, valueBoolean: true, valueString: 'x' }) !== null,
  (s) => {
    const parent = holder(s);
    if (parent === undefined || typeof s.value === 'object') return false;
    parent[`_${s.key}`] = { id: 'a', extension: [{ url: 'http://example.org/x', valueString: 'y' }] };
    return true;
  },
  (s) => {
    const parent = holder(s);
    if (parent === undefined || typeof s.value === 'object') return false;
    parent[`_${s.key}`] = 'not an object';
    return true;
  },
  (s) => {
    const parent = holder(s);
    if (parent === undefined || !Array.isArray(s.value) || typeof s.value[0] === 'object') return false;
    parent[`_${s.key}`] = [null, { extension: [{ url: 'http://example.org/x', valueCode: 'a b' }] }];
    s.value.push(null);
    return true;
  },
  (s) => {
    const parent = holder(s);
    if (parent === undefined || !/^value[A-Z]/.test(String(s.key))) return false;
    Object.assign(parent, { valueInteger: 1.5, _valueDate: { id: 'q' } });
    return true;
  },
  (s) =>
    isObject(s.value) &&
    typeof s.value.reference === 'string' &&
    set({ ...s, parent: s.value, key: 'reference' }, 'Observation/abc'),
];

/**
 * Copies of the resource, each broken once: up to `perKind` places per kind of break, spread over it;
 * without each of its elements in turn (required ones among them); two bad contained resources.
 */
function* breakResource(resource: JsonObject, perKind: number): Generator<[string, JsonObject]> {
  const count = spotsOf(resource).length;
  const step = Math.max(1, Math.floor(count / (perKind * 3)));
  for (const [kind, apply] of BREAKS.entries()) {
    let made = 0;
    for (let k = 0; k < count && made < perKind; k += step) {
      const copy = structuredClone(resource);
      if (apply(spotsOf(copy)[(k + kind) % count] as Spot)) {
        made++;
        yield [`break ${kind} at ${k}`, copy];
      }
    }
  }
  yield [
    'unknown contained type',
    { ...structuredClone(resource), contained: [{ resourceType: 'Nonsense', id: 'x' }] },
  ];
  yield [
    'bad contained Patient',
    {
      ...structuredClone(resource),
      contained: [{ resourceType: 'Patient', id: 'p', birthDate: 'x', bogus: 1 }],
    },
  ];
}

const EXAMPLES = dirname(createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/package.json'));

/**
 * The R4 examples (hl7.fhir.r4.examples 4.0.1, CC0) by file name: all 5,258 up to 300 KB. The 48
 * larger ones (Bundles of the specification's own definitions, up to 37 MB) give the same results too
 * but take Medplum about three minutes; they were compared once, when the port was made (issue 16).
 */
function exampleFiles(): string[] {
  return readdirSync(EXAMPLES)
    .filter((file) => file.endsWith('.json') && file !== 'package.json' && !file.startsWith('.'))
    .filter((file) => statSync(join(EXAMPLES, file)).size <= 300_000)
    .sort();
}

function readExample(file: string): Record<string, unknown> | undefined {
  const json = JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')) as Record<string, unknown>;
  return typeof json.resourceType === 'string' ? json : undefined;
}

const label = (resource: Record<string, unknown>) => `${resource.resourceType}/${resource.id}`;

describe('validateResourceAgainstBase and validateTypedValueAgainstSchema', () => {
  it('report what Medplum reports for every resource of the Synthea bulk set, and for each claimed US Core profile', () => {
    const resources = bulkResources();
    expect(resources.length).toBeGreaterThan(7000);
    const claiming = resources.filter((r) => Array.isArray((r.meta as { profile?: unknown })?.profile));
    expect(claiming.length).toBeGreaterThan(1000);
    expect(resources.flatMap((r) => compare(label(r), r))).toEqual([]);
  }, 180_000);

  it('report what Medplum reports for every resource of the Synthea patient bundles', () => {
    const resources = syntheaResources();
    expect(resources.length).toBeGreaterThan(6000);
    expect(resources.flatMap((r) => compare(label(r), r))).toEqual([]);
  }, 180_000);

  it('report what Medplum reports for Synthea resources broken in 20 ways, invalid ones included', () => {
    const resources = bulkResources().filter((_, i) => i % 60 === 0);
    let broken = 0;
    let invalid = 0;
    const differences: Difference[] = [];
    for (const resource of resources) {
      for (const [how, copy] of breakResource(resource, 2)) {
        broken++;
        const found = compare(`${label(resource)} ${how}`, copy);
        differences.push(...found);
        if (
          outcome(() => validateResourceAgainstBase(structuredClone(copy) as unknown as Resource)).startsWith(
            'threw',
          )
        )
          invalid++;
      }
    }
    expect(differences).toEqual([]);
    expect(broken).toBeGreaterThan(2500);
    // Most breaks are errors: the comparison covers the error paths, not only clean data.
    expect(invalid).toBeGreaterThan(broken / 3);
  }, 300_000);

  // Split in parts so that each stays within a test's time on a loaded machine.
  const PARTS = 6;
  it.each(Array.from({ length: PARTS }, (_, part) => part))(
    'report what Medplum reports for every R4 example (part %i of 6)',
    (part) => {
      const files = exampleFiles();
      expect(files.length).toBeGreaterThan(5000);
      const differences: Difference[] = [];
      files.forEach((file, i) => {
        if (i % PARTS !== part) return;
        const example = readExample(file);
        if (example !== undefined) differences.push(...compare(file, example));
      });
      expect(differences).toEqual([]);
    },
    300_000,
  );

  it('report what Medplum reports for R4 examples broken in 20 ways', () => {
    const differences: Difference[] = [];
    let broken = 0;
    exampleFiles().forEach((file, i) => {
      if (i % 40 !== 0) return;
      const example = readExample(file);
      if (example === undefined || JSON.stringify(example).length > 20_000) return;
      for (const [how, copy] of breakResource(example, 2)) {
        broken++;
        differences.push(...compare(`${file} ${how}`, copy));
      }
    });
    expect(differences).toEqual([]);
    expect(broken).toBeGreaterThan(2000);
  }, 300_000);

  it('reports a missing required element at its place, as Medplum does, without crawling the absent ones', () => {
    const result = outcome(() =>
      validateResourceAgainstBase({
        resourceType: 'Observation',
        code: { text: 'x' },
      } as unknown as Resource),
    );
    expect(result).toContain('"expression":["Observation.status"]');
    expect(result).toContain('Missing required property');
    expect(result).toBe(
      outcome(() =>
        validateResource({ resourceType: 'Observation', code: { text: 'x' } } as unknown as Resource),
      ),
    );
  });
});
