import type { Observation, Patient, Resource } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { createCloneSeeder, type SeedTarget } from '../../bench/groups/export-seed.js';
import {
  FILLER_OBSERVATIONS,
  FILLER_PATIENTS,
  fillerTemplateLines,
  formatSize,
  PAGE,
  READ_PATIENTS,
  ratioToBase,
  scaleFixture,
  scaleLevels,
  summarize,
  TARGET_OBSERVATIONS,
} from '../../bench/groups/fhir-scale.js';
import { extractSearchIndexEntries } from '../../src/fhir/search/extract-search-index-entries.js';
import type { SearchIndexEntry } from '../../src/fhir/search/search-index-entry.js';

describe('scaleLevels', () => {
  it('is 10^3, 10^5, 10^6 by default and 10^3, 10^4 when quick', () => {
    expect(scaleLevels(false)).toEqual([1_000, 100_000, 1_000_000]);
    expect(scaleLevels(true)).toEqual([1_000, 10_000]);
  });

  it('keeps the sizes up to --size fhir-scale=N and adds N when it is none of them', () => {
    expect(scaleLevels(false, 100_000)).toEqual([1_000, 100_000]);
    expect(scaleLevels(false, 300_000)).toEqual([1_000, 100_000, 300_000]);
    expect(scaleLevels(true, 3_000)).toEqual([1_000, 3_000]);
    expect(scaleLevels(false, 500)).toEqual([500]);
  });
});

describe('formatSize', () => {
  it('writes powers of ten as 10^n and other sizes with thousands grouped', () => {
    expect(formatSize(1_000)).toBe('10^3');
    expect(formatSize(1_000_000)).toBe('10^6');
    expect(formatSize(25_000)).toBe('25,000');
  });
});

describe('scaleFixture', () => {
  it('holds the target patient, its 37 Observations and the read Patients, ids unique', () => {
    const fixture = scaleFixture();
    expect(fixture).toHaveLength(1 + TARGET_OBSERVATIONS + READ_PATIENTS);
    const observations = fixture.filter((r): r is Observation => r.resourceType === 'Observation');
    expect(observations).toHaveLength(TARGET_OBSERVATIONS);
    expect(observations.every((o) => o.subject?.reference === 'Patient/target')).toBe(true);
    expect(new Set(fixture.map((r) => `${r.resourceType}/${r.id}`)).size).toBe(fixture.length);
    expect(PAGE).toBeLessThan(TARGET_OBSERVATIONS);
  });
});

describe('fillerTemplateLines', () => {
  it('is one Patient and its Observations per filler patient, varied, deterministic', () => {
    const lines = fillerTemplateLines(3, 4);
    expect(lines).toEqual(fillerTemplateLines(3, 4));
    const resources = lines.map((l) => JSON.parse(l) as Resource);
    expect(resources).toHaveLength(3 * 5);
    const patients = resources.filter((r): r is Patient => r.resourceType === 'Patient');
    expect(patients.map((p) => p.id)).toEqual(['p0', 'p1', 'p2']);
    const observations = resources.filter((r): r is Observation => r.resourceType === 'Observation');
    for (const o of observations)
      expect(o.subject?.reference).toBe(`Patient/${(o.id as string).split('-')[0]}`);
    expect(new Set(observations.map((o) => o.code?.coding?.[0]?.code)).size).toBeGreaterThan(1);
    expect(new Set(patients.map((p) => p.birthDate)).size).toBe(3);
    // The clone seeder rewrites ids and references found in this exact JSON shape.
    expect(lines[1]).toContain('"id":"p0-o0"');
    expect(lines[1]).toContain('"reference":"Patient/p0"');
  });

  it('has the group template of FILLER_PATIENTS × (1 + FILLER_OBSERVATIONS) lines', () => {
    expect(fillerTemplateLines(FILLER_PATIENTS, FILLER_OBSERVATIONS)).toHaveLength(
      FILLER_PATIENTS * (1 + FILLER_OBSERVATIONS),
    );
  });
});

describe('the clone seeder on the filler template', () => {
  // A stand-in keyed hash: what matters is that each row's hash is that of the copy's own message.
  const searchHash = (message: string) => `H(${message})`;
  const target = {
    store: { searchHash, indexEntries: (r: Resource) => extractSearchIndexEntries(r, searchHash) },
    crypto: {},
  } as unknown as SeedTarget;
  const key = (rows: readonly SearchIndexEntry[]) =>
    rows
      .map((r) => `${r.param}|${r.kind}|${r.hash}`)
      .sort()
      .join('\n');

  it('gives each copy new ids and the rows a full extraction of the copy gives', () => {
    const template = { shared: [], perCopy: fillerTemplateLines(2, 3), patients: 2 };
    const seeder = createCloneSeeder(target, template);
    seeder.copy('s0-');
    const { resources, index } = seeder.copy('s1-');
    expect(seeder.slowLines).toBe(0);
    expect(resources.map((r) => r.id)).toContain('s1-p1-o2');
    expect((resources[1] as Observation).subject?.reference).toBe('Patient/s1-p0');
    resources.forEach((resource, i) => {
      expect(key(index[i] as SearchIndexEntry[])).toBe(key(extractSearchIndexEntries(resource, searchHash)));
    });
  });
});

describe('summarize and ratioToBase', () => {
  it('takes the median round of CPU and the p50/p99 of all latencies', () => {
    const latencies = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(summarize([3, 1, 2], latencies)).toEqual({ cpuMs: 2, p50: 50, p99: 99 });
  });

  it('states a figure against its value at the smallest size', () => {
    const ratio = ratioToBase(1.1, 1, 1_000, 'CPU per request');
    expect(ratio.value).toBeCloseTo(1.1);
    expect(ratio.text).toBe('1.10 × its CPU per request at 10^3 stored');
  });
});
