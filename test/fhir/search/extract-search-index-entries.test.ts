import type { Observation, Patient, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_INDEX_ENTRIES_PER_RESOURCE } from '../../../src/fhir/search/extract-search-index-entries.js';
import {
  extractSearchIndexEntries,
  loadSearchParameters,
  normalizeSearchString,
} from '../../../src/fhir/search/index.js';
import { createKeyedHash, loadSyntheaResources, stringsOf } from './synthea-fixture.js';

/** A test-only "hash" that is the hashed message, to show what the index would hold. */
const transparent = (value: string): string => value;

function rows(resource: Resource): string[] {
  return extractSearchIndexEntries(resource, transparent).map((row) => {
    const [type, param, kind, value] = row.hash.split('\u001f');
    expect([type, param, kind]).toEqual([resource.resourceType, row.param, row.kind]);
    return `${row.param} ${row.kind} ${value}`;
  });
}

describe('extractSearchIndexEntries', () => {
  beforeAll(() => {
    loadSearchParameters();
  });

  it('tokens as code, system|code and system| (lowercased); identifiers likewise', () => {
    const observation: Observation = {
      resourceType: 'Observation',
      id: 'o1',
      status: 'final',
      code: {
        coding: [{ system: 'http://loinc.org', code: '8302-2', display: 'Body Height' }],
        text: 'Body Height',
      },
      identifier: [{ system: 'urn:example', value: 'ABC' }],
    };
    const found = rows(observation);
    expect(found).toEqual(
      expect.arrayContaining([
        'code token 8302-2',
        'code token http://loinc.org|8302-2',
        'code token http://loinc.org|',
        'identifier token abc',
        'identifier token urn:example|abc',
        'identifier token urn:example|',
        'status token final',
      ]),
    );
    // Display and text are no codes, and `_id` is a plain column.
    expect(found.some((row) => row.includes('body'))).toBe(false);
    expect(found.some((row) => row.startsWith('_id '))).toBe(false);
  });

  it('references as Type/id and id, base URL and version stripped', () => {
    const observation: Observation = {
      resourceType: 'Observation',
      status: 'final',
      code: {},
      subject: { reference: 'https://fhir.example.org/r4/Patient/123/_history/2' },
      performer: [{ reference: '#contained' }, { identifier: { value: 'logical' } }],
    };
    const found = rows(observation);
    expect(found).toEqual(
      expect.arrayContaining([
        'subject reference Patient/123',
        'subject reference 123',
        'patient reference Patient/123',
        'patient reference 123',
      ]),
    );
    expect(found.filter((row) => row.startsWith('performer '))).toEqual([]);
  });

  it('strings: every 1–16 character prefix of each normalized word and of the whole value', () => {
    const patient: Patient = {
      resourceType: 'Patient',
      name: [{ family: "O'Núñez-Wolfeschlegelsteinhausen", given: ['Zoë'] }],
      birthDate: '1980-05-06',
    };
    const family = rows(patient)
      .filter((row) => row.startsWith('family '))
      .map((row) => row.slice('family string-prefix '.length));
    expect(family).toContain('o');
    expect(family).toContain('o nunez wolfesch');
    expect(family).toContain('wolfeschlegelste');
    expect(family).not.toContain('wolfeschlegelstei');
    expect(family).toContain('nunez');
    expect(family.every((prefix) => [...prefix].length <= 16)).toBe(true);
    expect(rows(patient)).toContain('given string-prefix zoe');
    // Dates are PHI and not indexed.
    expect(rows(patient).some((row) => row.includes('1980'))).toBe(false);
  });

  it('rows are deduplicated', () => {
    const found = rows({ resourceType: 'Patient', name: [{ family: 'Ann', given: ['Ann', 'Ann'] }] });
    expect(new Set(found).size).toBe(found.length);
  });

  it('types outside the vault have no rows', () => {
    expect(extractSearchIndexEntries({ resourceType: 'Claim' } as Resource, transparent)).toEqual([]);
  });

  it('normalizes strings per R4 §3.1.1.4.7', () => {
    expect(normalizeSearchString('  Ñúñez--García,  JR. ')).toBe('nunez garcia jr');
    expect(normalizeSearchString("Robert'); DROP TABLE--")).toBe('robert drop table');
  });

  it('rows from real Synthea resources hold no plaintext: only param, kind and a keyed hash', () => {
    const keyedHash = createKeyedHash();
    const sample = loadSyntheaResources().filter((_, index) => index % 7 === 0);
    const params = new Set<string>();
    for (const resource of sample) {
      const entries = extractSearchIndexEntries(resource, keyedHash);
      const serialized = JSON.stringify(entries).toLowerCase();
      for (const entry of entries) {
        expect(Object.keys(entry).sort()).toEqual(['hash', 'kind', 'param']);
        expect(entry.hash).toMatch(/^[0-9a-f]{64}$/);
        params.add(entry.param);
      }
      const hashes = new Set(entries.map((entry) => entry.hash));
      for (const value of new Set(stringsOf(resource))) {
        for (const form of [value, value.toLowerCase(), normalizeSearchString(value)]) {
          expect(hashes.has(form)).toBe(false);
          // A random 64-digit hex string contains a given 8-hex-digit string with p ≈ 1e-8.
          const longEnough = /^[0-9a-f]+$/.test(form) ? form.length >= 8 : form.length >= 3;
          if (
            longEnough &&
            !params.has(form) &&
            !['token', 'reference', 'string-prefix', 'uri'].includes(form)
          )
            expect(serialized.includes(form), `${resource.resourceType} leaks a value`).toBe(false);
        }
      }
    }
  });
  it('indexes every stored R4 type, not only the 18 served before: a Claim, a Coverage, a Questionnaire', () => {
    expect(
      rows({
        resourceType: 'Claim',
        id: 'c1',
        status: 'active',
        patient: { reference: 'Patient/p1' },
        provider: { reference: 'Organization/o1' },
      } as Resource),
    ).toEqual(
      expect.arrayContaining([
        'patient reference Patient/p1',
        'patient reference p1',
        'provider reference Organization/o1',
      ]),
    );
    expect(
      rows({
        resourceType: 'Coverage',
        status: 'active',
        beneficiary: { reference: 'Patient/p1' },
      } as Resource),
    ).toEqual(expect.arrayContaining(['beneficiary reference Patient/p1', 'patient reference Patient/p1']));
    expect(
      rows({
        resourceType: 'Questionnaire',
        status: 'active',
        url: 'http://example.org/q',
        title: 'PHQ 9',
      } as Resource),
    ).toEqual(
      expect.arrayContaining([
        'url uri http://example.org/q',
        'title string-prefix phq',
        'status token active',
      ]),
    );
    // Parameters and OperationOutcome are never stored, so never indexed.
    expect(rows({ resourceType: 'OperationOutcome', issue: [] } as unknown as Resource)).toEqual([]);
  });

  it('refuses, rather than indexes in part, a resource past MAX_INDEX_ENTRIES_PER_RESOURCE rows', () => {
    const codeSystem = (codes: number) =>
      ({
        resourceType: 'CodeSystem',
        status: 'active',
        content: 'complete',
        concept: Array.from({ length: codes }, (_, i) => ({ code: `c${i}` })),
      }) as Resource;
    expect(rows(codeSystem(100)).filter((row) => row.startsWith('code token '))).toHaveLength(100);
    expect(() =>
      extractSearchIndexEntries(codeSystem(MAX_INDEX_ENTRIES_PER_RESOURCE + 1), transparent),
    ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_INPUT' }));
  });
});
