import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSyntheaResources } from '../../../test/fhir/search/synthea-fixture.js';
import { extractIndexValues } from './extract-index-values.js';
import {
  evaluateSearchParam,
  extractReferences,
  extractStrings,
  extractTokens,
  extractUris,
} from './extract-search-values.js';
import { isSearchableResourceType, loadSearchParameters } from './load-search-parameters.js';

const EXAMPLES = dirname(createRequire(import.meta.url).resolve('hl7.fhir.r4.examples/package.json'));

/** What the blind index reads of a parameter's values, as extractSearchIndexEntries reads them. */
function read(type: string, values: Parameters<typeof extractTokens>[0]): unknown {
  switch (type) {
    case 'token':
      return extractTokens(values);
    case 'reference':
      return extractReferences(values);
    case 'string':
      return extractStrings(values);
    case 'uri':
      return extractUris(values);
    default:
      return undefined;
  }
}

function distinct(values: unknown): string[] {
  return [...new Set((values as unknown[]).map((v) => JSON.stringify(v)))];
}

/** Every parameter of `resource` and of the resources it contains, walked and by FHIRPath; differences. */
function differences(resource: Resource): string[] {
  const found: string[] = [];
  const inner = (resource as { contained?: Resource[] }).contained ?? [];
  for (const r of [resource, ...inner]) {
    if (typeof r?.resourceType !== 'string' || !isSearchableResourceType(r.resourceType)) continue;
    for (const param of loadSearchParameters().get(r.resourceType)?.values() ?? []) {
      if (!['token', 'reference', 'string', 'uri'].includes(param.type) || param.code === '_id') continue;
      // Distinct, in order of first appearance: a union (`A.x | A.y`) drops repeats in FHIRPath and
      // not in the walk, and the index keeps one row per value either way.
      const walked = distinct(read(param.type, [...extractIndexValues(r, param)]));
      const evaluated = distinct(read(param.type, evaluateSearchParam(r, param)));
      if (JSON.stringify(walked) !== JSON.stringify(evaluated))
        found.push(
          `${r.resourceType}/${r.id} ${param.code}: ${JSON.stringify(walked)} != ${JSON.stringify(evaluated)}`,
        );
    }
  }
  return found;
}

function exampleFiles(): string[] {
  return readdirSync(EXAMPLES)
    .filter((f) => f.endsWith('.json') && f !== 'package.json' && !f.startsWith('.'))
    .map((f) => join(EXAMPLES, f))
    .filter((f) => statSync(f).size <= 300_000);
}

describe('extractIndexValues: the JSON walk equals FHIRPath (decision 0057)', () => {
  beforeAll(() => {
    loadSearchParameters();
  });

  it('on every token, reference, string and uri parameter of the Synthea bundles', () => {
    const resources = loadSyntheaResources();
    expect(resources.length).toBeGreaterThan(1000);
    expect(resources.flatMap(differences)).toEqual([]);
  });

  it('on every such parameter of the R4 examples up to 300 KB', () => {
    const files = exampleFiles();
    expect(files.length).toBeGreaterThan(2000);
    const found: string[] = [];
    for (const file of files) {
      const resource = JSON.parse(readFileSync(file, 'utf8')) as Resource;
      const all =
        resource.resourceType === 'Bundle'
          ? [
              resource,
              ...((resource as { entry?: { resource?: Resource }[] }).entry ?? []).flatMap((e) =>
                e.resource ? [e.resource] : [],
              ),
            ]
          : [resource];
      for (const r of all) found.push(...differences(r));
    }
    expect(found.slice(0, 20)).toEqual([]);
  });

  it('leaves to FHIRPath what a walk cannot be sure of: primitive extensions, choices, where()', () => {
    const patient = {
      resourceType: 'Patient',
      id: 'p',
      name: [{ family: 'Smith', _family: { extension: [{ url: 'urn:x', valueString: 'y' }] } }],
      telecom: [
        { system: 'phone', value: '555' },
        { system: 'email', value: 'a@b' },
      ],
    } as unknown as Resource;
    expect(differences(patient)).toEqual([]);
  });
});
